/* the csv plugin, its descriptor renamed: one test links three plugins */
#define FV_PLUGIN_EXPORT_NAME csv_plugin
#include "../../plugins/csv/csv.c"
