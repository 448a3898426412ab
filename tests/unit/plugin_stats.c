/* the stats plugin, its descriptor renamed: one test links three plugins */
#define FV_PLUGIN_EXPORT_NAME stats_plugin
#include "../../plugins/stats/stats.c"
