/* options.c: the quantizer's option schema, parsing into MscQOptions
 * (one-line errors naming the option and the accepted values) and its
 * JSON echo in plans and reports. */
#include <math.h>
#include <string.h>

#include "quant.h"

const MscOptionSpec msc_quant_options[] = { /* its size must match MSC_QUANT_N_OPTIONS (quant.h) */
    {"method", MSC_OPT_STRING, "minmax", "activation range: minmax | percentile | entropy | mse"},
    {"percentile", MSC_OPT_FLOAT, "99.99", "percentile method: % of values kept inside the range (each tail)"},
    {"moving_average", MSC_OPT_BOOL, "false", "minmax: moving average (0.01) of per-sample min/max"},
    {"per_tensor", MSC_OPT_BOOL, "false", "per-tensor weights (default per output channel)"},
    {"symmetric_activations", MSC_OPT_BOOL, "false", "symmetric activation ranges"},
    {"activation_type", MSC_OPT_STRING, "uint8", "activation integer type: uint8 | int8"},
    {"weight_bits", MSC_OPT_INT, "8", "8, or 7: weights in [-63, 63] so AVX2 vpmaddubsw never saturates"},
    {"op_types", MSC_OPT_STRING, "Conv,Gemm,MatMul", "comma-separated op types to quantize"},
    {"exclude", MSC_OPT_STRING, "", "comma-separated glob patterns of node names kept in float"},
    {"keep_first", MSC_OPT_BOOL, "false", "keep the first quantizable layer(s) (reached from the inputs) in float"},
    {"keep_last", MSC_OPT_BOOL, "false", "keep the last quantizable layer(s) (reaching an output) in float"},
    {"overrides", MSC_OPT_STRING, "", "per-tensor parameters: NAME:SCALE:ZERO_POINT;NAME2:SCALE:ZP"},
    {"format", MSC_OPT_STRING, "qdq", "qdq (QuantizeLinear/DequantizeLinear pairs) | qoperator (QLinearConv ...)"},
    {"report", MSC_OPT_STRING, NULL, "accuracy report JSON path (per layer and per output)"},
    {"tolerance", MSC_OPT_FLOAT, NULL, "accuracy-aware: revert layers to float until every output cosine >= this"},
    {"dynamic", MSC_OPT_BOOL, "false", "dynamic quantization of MatMul/Gemm (activation scale per call)"},
    {"tolerance_margin", MSC_OPT_FLOAT, "0.003",
     "the accuracy-aware search aims at tolerance + this (at most half the allowed loss) on the calibration "
     "samples (they also fitted the ranges, so they flatter the model: held-out cosines came out 0.001-0.005 "
     "lower on the trained nets)"},
    {"range_alternatives", MSC_OPT_BOOL, "true",
     "accuracy-aware search: before leaving a layer in float, try its tensors with the other range methods "
     "(minmax, percentile, mse)"},
    {"tolerance_outputs", MSC_OPT_STRING, "",
     "comma-separated graph outputs the tolerance applies to (default: every output; sensitivity search)"},
    {"search", MSC_OPT_STRING, "sensitivity",
     "accuracy-aware search: sensitivity (each layer measured once, reverted by sensitivity, count by bisection, "
     "then restored where the tolerance allows) | greedy (revert the worst layer, re-measure, repeat)"},
    {"search_runner", MSC_OPT_STRING, "cpu",
     "runner of the accuracy-aware search's evaluations (cpu: the int8 kernels that will run the model)"},
    {"guard_discrete", MSC_OPT_BOOL, "true",
     "keep float the output of a quantized layer that reaches, through float ops only, a discrete op "
     "(Equal, Greater, Less, ArgMax, TopK, NonMaxSuppression...): its rounding would move the decisions"},
};

void msc_qopt_clear(MscQOptions *o) {
  g_strfreev(o->op_types);
  g_strfreev(o->exclude);
  if (o->overrides) g_hash_table_unref(o->overrides);
  g_free(o->overrides_text);
  g_free(o->report);
  g_free(o->search_runner);
  g_strfreev(o->tolerance_outputs);
  memset(o, 0, sizeof *o);
}

static gboolean parse_bool(const char *v, gboolean *out) {
  if (!g_ascii_strcasecmp(v, "true") || !strcmp(v, "1") || !g_ascii_strcasecmp(v, "yes") || !*v) *out = TRUE;
  else if (!g_ascii_strcasecmp(v, "false") || !strcmp(v, "0") || !g_ascii_strcasecmp(v, "no")) *out = FALSE;
  else return FALSE;
  return TRUE;
}

static gboolean parse_double(const char *v, double *out) {
  char *end = NULL;
  *out = g_ascii_strtod(v, &end);
  return end && end != v && *end == '\0' && isfinite(*out);
}

static char **split_list(const char *v) {
  char **parts = g_strsplit(v, ",", -1);
  GPtrArray *a = g_ptr_array_new();
  for (char **p = parts; *p; p++) {
    char *s = g_strstrip(*p);
    if (*s) g_ptr_array_add(a, g_strdup(s));
  }
  g_strfreev(parts);
  g_ptr_array_add(a, NULL);
  return (char **)g_ptr_array_free(a, FALSE);
}

/* "NAME:SCALE:ZP;..." parsed from the right (tensor names may hold ':'). */
static gboolean parse_overrides(const char *v, GHashTable *out, char **bad) {
  char **items = g_strsplit(v, ";", -1);
  gboolean ok = TRUE;
  for (char **it = items; *it && ok; it++) {
    char *s = g_strstrip(*it);
    if (!*s) continue;
    char *c2 = strrchr(s, ':');
    char *c1 = NULL;
    if (c2) {
      *c2 = '\0';
      c1 = strrchr(s, ':');
    }
    double scale, zp;
    if (!c1 || c1 == s || !parse_double(c1 + 1, &scale) || !parse_double(c2 + 1, &zp) || !(scale > 0) ||
        zp != floor(zp)) {
      if (c2) *c2 = ':';
      *bad = g_strdup(s);
      ok = FALSE;
      break;
    }
    *c1 = '\0';
    MscQParam *p = g_new0(MscQParam, 1);
    p->scale = (float)scale;
    p->zp = (int32_t)zp;
    p->overridden = TRUE;
    g_hash_table_insert(out, g_strdup(s), p);
  }
  g_strfreev(items);
  return ok;
}

static MscStatus bad_option(const MscHostApi *host, MscMessage *msg, const char *key, const char *value,
                            const char *accepted) {
  host->message_set(msg, "quantizer: option '%s': invalid value '%s' (accepted: %s)", key, value, accepted);
  return MSC_ERR_INVALID_ARG;
}

MscStatus msc_qopt_parse(const MscHostApi *host, const MscOptions *opts, MscQOptions *o, MscMessage *msg) {
  o->method = MSC_QCALIB_MINMAX;
  o->percentile = 99.99;
  o->act_type = MSC_DTYPE_UINT8;
  o->weight_bits = 8;
  o->op_types = split_list("Conv,Gemm,MatMul");
  o->exclude = split_list("");
  o->overrides = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  o->tolerance = NAN;
  o->search_runner = g_strdup("cpu");
  o->tolerance_outputs = split_list("");
  o->tolerance_margin = 0.003;
  o->range_alternatives = TRUE;
  o->guard_discrete = TRUE;
  for (uint32_t i = 0; opts && i < opts->n; i++) {
    const char *k = opts->keys[i], *v = opts->values[i] ? opts->values[i] : "";
    double d;
    gboolean b;
    if (!strcmp(k, "method")) {
      if (!strcmp(v, "minmax")) o->method = MSC_QCALIB_MINMAX;
      else if (!strcmp(v, "percentile")) o->method = MSC_QCALIB_PERCENTILE;
      else if (!strcmp(v, "entropy") || !strcmp(v, "kl")) o->method = MSC_QCALIB_ENTROPY;
      else if (!strcmp(v, "mse")) o->method = MSC_QCALIB_MSE;
      else return bad_option(host, msg, k, v, "minmax|percentile|entropy|mse");
    } else if (!strcmp(k, "percentile")) {
      if (!parse_double(v, &d) || d <= 50 || d > 100) return bad_option(host, msg, k, v, "a number in (50, 100]");
      o->percentile = d;
    } else if (!strcmp(k, "moving_average") || !strcmp(k, "per_tensor") || !strcmp(k, "symmetric_activations") ||
               !strcmp(k, "keep_first") || !strcmp(k, "keep_last") || !strcmp(k, "dynamic") ||
               !strcmp(k, "guard_discrete") || !strcmp(k, "range_alternatives")) {
      if (!parse_bool(v, &b)) return bad_option(host, msg, k, v, "true|false");
      if (!strcmp(k, "moving_average")) o->moving_average = b;
      else if (!strcmp(k, "per_tensor")) o->per_tensor = b;
      else if (!strcmp(k, "symmetric_activations")) o->symmetric_activations = b;
      else if (!strcmp(k, "keep_first")) o->keep_first = b;
      else if (!strcmp(k, "keep_last")) o->keep_last = b;
      else if (!strcmp(k, "guard_discrete")) o->guard_discrete = b;
      else if (!strcmp(k, "range_alternatives")) o->range_alternatives = b;
      else o->dynamic = b;
    } else if (!strcmp(k, "activation_type")) {
      if (!strcmp(v, "uint8")) o->act_type = MSC_DTYPE_UINT8;
      else if (!strcmp(v, "int8")) o->act_type = MSC_DTYPE_INT8;
      else return bad_option(host, msg, k, v, "uint8|int8");
    } else if (!strcmp(k, "weight_bits")) {
      if (!strcmp(v, "8")) o->weight_bits = 8;
      else if (!strcmp(v, "7")) o->weight_bits = 7;
      else return bad_option(host, msg, k, v, "8|7");
    } else if (!strcmp(k, "op_types")) {
      g_strfreev(o->op_types);
      o->op_types = split_list(v);
      if (!o->op_types[0])
        return bad_option(host, msg, k, v, "a comma-separated list of op types, e.g. Conv,Gemm,MatMul");
      for (char **t = o->op_types; *t; t++)
        if (!strcmp(*t, "QuantizeLinear") || !strcmp(*t, "DequantizeLinear"))
          return bad_option(host, msg, k, v, "op types other than QuantizeLinear/DequantizeLinear");
    } else if (!strcmp(k, "exclude")) {
      g_strfreev(o->exclude);
      o->exclude = split_list(v);
    } else if (!strcmp(k, "overrides")) {
      g_autofree char *bad = NULL;
      g_free(o->overrides_text);
      o->overrides_text = g_strdup(v);
      if (!parse_overrides(v, o->overrides, &bad)) {
        host->message_set(msg, "quantizer: option 'overrides': invalid entry '%s' (expected NAME:SCALE:ZERO_POINT, "
                          "scale > 0, integer zero point; entries separated by ';')", bad);
        return MSC_ERR_INVALID_ARG;
      }
    } else if (!strcmp(k, "format")) {
      if (!strcmp(v, "qdq")) o->format = MSC_QFORMAT_QDQ;
      else if (!strcmp(v, "qoperator")) o->format = MSC_QFORMAT_QOPERATOR;
      else return bad_option(host, msg, k, v, "qdq|qoperator");
    } else if (!strcmp(k, "report")) {
      g_free(o->report);
      o->report = *v ? g_strdup(v) : NULL;
    } else if (!strcmp(k, "search")) {
      if (!strcmp(v, "sensitivity")) o->greedy = FALSE;
      else if (!strcmp(v, "greedy")) o->greedy = TRUE;
      else return bad_option(host, msg, k, v, "sensitivity|greedy");
    } else if (!strcmp(k, "tolerance_margin")) {
      if (!parse_double(v, &d) || d < 0 || d >= 1) return bad_option(host, msg, k, v, "a number in [0, 1)");
      o->tolerance_margin = d;
    } else if (!strcmp(k, "tolerance_outputs")) {
      g_strfreev(o->tolerance_outputs);
      o->tolerance_outputs = split_list(v);
    } else if (!strcmp(k, "search_runner")) {
      if (!*v) return bad_option(host, msg, k, v, "a runner name, e.g. cpu or ref");
      g_free(o->search_runner);
      o->search_runner = g_strdup(v);
    } else if (!strcmp(k, "tolerance")) {
      if (!*v || !g_ascii_strcasecmp(v, "off")) o->tolerance = NAN;
      else if (!parse_double(v, &d) || d <= -1 || d > 1)
        return bad_option(host, msg, k, v, "a cosine in (-1, 1], or off");
      else o->tolerance = d;
    } else {
      host->message_set(msg, "quantizer: unknown option '%s' (known: method, percentile, moving_average, per_tensor, "
                        "symmetric_activations, activation_type, weight_bits, op_types, exclude, keep_first, "
                        "keep_last, overrides, format, report, tolerance, tolerance_margin, tolerance_outputs, "
                        "range_alternatives, dynamic, search, search_runner, guard_discrete)", k);
      return MSC_ERR_INVALID_ARG;
    }
  }
  /* overrides must fit the activation grid */
  int qmin, qmax;
  gboolean sym;
  msc_qopt_act_grid(o, &qmin, &qmax, &sym);
  GHashTableIter it;
  gpointer key, val;
  g_hash_table_iter_init(&it, o->overrides);
  while (g_hash_table_iter_next(&it, &key, &val)) {
    MscQParam *p = val;
    if (p->zp < qmin || p->zp > qmax) {
      host->message_set(msg, "quantizer: option 'overrides': tensor '%s': zero point %d outside [%d, %d] of %s",
                        (char *)key, p->zp, qmin, qmax, o->act_type == MSC_DTYPE_INT8 ? "int8" : "uint8");
      return MSC_ERR_INVALID_ARG;
    }
    p->lo = (qmin - p->zp) * (double)p->scale;
    p->hi = (qmax - p->zp) * (double)p->scale;
  }
  return MSC_OK;
}

const char *msc_qcalib_method_name(MscQCalibMethod m) {
  static const char *const n[] = {"minmax", "percentile", "entropy", "mse"};
  return n[m];
}

JsonObject *msc_qopt_to_json(const MscQOptions *o) {
  JsonObject *j = json_object_new();
  json_object_set_string_member(j, "activation_type", o->act_type == MSC_DTYPE_INT8 ? "int8" : "uint8");
  json_object_set_boolean_member(j, "dynamic", o->dynamic);
  g_autofree char *ex = g_strjoinv(",", o->exclude);
  json_object_set_string_member(j, "exclude", ex);
  json_object_set_string_member(j, "format", o->format == MSC_QFORMAT_QOPERATOR ? "qoperator" : "qdq");
  json_object_set_boolean_member(j, "guard_discrete", o->guard_discrete);
  json_object_set_double_member(j, "tolerance_margin", o->tolerance_margin);
  json_object_set_boolean_member(j, "range_alternatives", o->range_alternatives);
  g_autofree char *tout = g_strjoinv(",", o->tolerance_outputs);
  json_object_set_string_member(j, "tolerance_outputs", tout);
  json_object_set_string_member(j, "search", o->greedy ? "greedy" : "sensitivity");
  json_object_set_string_member(j, "search_runner", o->search_runner ? o->search_runner : "cpu");
  json_object_set_boolean_member(j, "keep_first", o->keep_first);
  json_object_set_boolean_member(j, "keep_last", o->keep_last);
  json_object_set_string_member(j, "method", msc_qcalib_method_name(o->method));
  json_object_set_boolean_member(j, "moving_average", o->moving_average);
  g_autofree char *ops = g_strjoinv(",", o->op_types);
  json_object_set_string_member(j, "op_types", ops);
  json_object_set_string_member(j, "overrides", o->overrides_text ? o->overrides_text : "");
  json_object_set_double_member(j, "percentile", o->percentile);
  json_object_set_boolean_member(j, "per_tensor", o->per_tensor);
  json_object_set_boolean_member(j, "symmetric_activations", o->symmetric_activations);
  if (!isnan(o->tolerance)) json_object_set_double_member(j, "tolerance", o->tolerance);
  json_object_set_int_member(j, "weight_bits", o->weight_bits);
  return j;
}
