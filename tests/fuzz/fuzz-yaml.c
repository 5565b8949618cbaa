/* Fuzzes the YAML reader and the model description on top of it (no
 * weights are read: mo_desc_load stops at the file names). */
#include "fuzz-common.h"
#include "mo-desc.h"

int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static gboolean init;
  GError *error = NULL;

  if (!init) {
    fuzz_init ();
    init = TRUE;
  }
  char *p = fuzz_write ("model.yaml", data, size);
  MoYamlNode *root = mo_yaml_load (p, &error);
  g_clear_error (&error);
  if (root != NULL) {
    const MoYamlNode *head = NULL;
    double d[8];
    int n, v;
    char *s = NULL;
    mo_yaml_get_map (root, "head", FALSE, &head, &error);
    g_clear_error (&error);
    mo_yaml_get_string (head ? head : root, "type", FALSE, "", &s, &error);
    g_clear_error (&error);
    g_free (s);
    mo_yaml_get_int (head ? head : root, "num_classes", FALSE, 0, 0, 100, &v,
        &error);
    g_clear_error (&error);
    mo_yaml_get_double_list (head ? head : root, "aspect_ratios", FALSE, 0,
        8, -1e9, 1e9, d, &n, &error);
    g_clear_error (&error);
    mo_yaml_check_unused (root, &error);
    g_clear_error (&error);
    mo_yaml_free (root);
  }
  MoDesc *desc = mo_desc_load (p, &error);
  g_clear_error (&error);
  mo_desc_free (desc);
  g_free (p);
  return 0;
}
