/* the jsonl plugin, its descriptor renamed: one test links three plugins */
#define FV_PLUGIN_EXPORT_NAME jsonl_plugin
#include "../../plugins/jsonl/jsonl.c"
