/* zoo.c: small demo CNNs with deterministic weights (see zoo.h). */
#include "zoo.h"

#include <math.h>
#include <string.h>

#include "error.h"
#include "graph.h"
#include "msc-config.h"
#include "tensor.h"

#define ZOO_IR_VERSION 7   /* ONNX 1.9 era: IR 7 carries opsets 13 and 14 */
#define ZOO_SAMPLES 2048   /* standard-normal samples for activation moments */
#define ZOO_IMAGE 64       /* input height = width */
#define ZOO_CLASSES 10
#define ZOO_BN_EPS 1e-5

static const char *const zoo_names[] = {"resnet_mini", "mobilenet_mini", NULL};

static const char *const zoo_docs[] = {
    "ResNet-style CNN: stem Conv3x3/2-BN-Relu, MaxPool, 4 basic blocks (16-32-64 channels, projection "
    "shortcuts), GlobalAveragePool, Gemm -> logits [N,10]; input [N,3,64,64]; opset 13",
    "MobileNetV2-style CNN: stem Conv3x3/2-BN-HardSwish, 4 inverted residuals (1x1 expand-Clip6, depthwise "
    "3x3, 1x1 project, Add), head Conv-HardSwish, GlobalAveragePool, Gemm, Softmax -> probs [N,10]; input "
    "[N,3,64,64]; opset 14",
};

/* ---------------------------------------------------------------------- */
/* Deterministic numbers                                                   */

static double uniform01(uint32_t *state) {
  return msc_mulberry32(state) / 4294967296.0;
}

/* Irwin-Hall: exact in double (sums of multiples of 2^-32), unit variance,
 * bounded to +-6 so no outlier weights. */
static double normal01(uint32_t *state) {
  double acc = 0.0;
  for (int i = 0; i < 12; i++) acc += uniform01(state);
  return acc - 6.0;
}

/* FNV-1a: the per-model seed. */
static uint32_t name_seed(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
  return h;
}

/* ---------------------------------------------------------------------- */
/* Builder                                                                 */

typedef enum { ACT_RELU, ACT_RELU6, ACT_HARDSWISH } ActKind;

typedef struct {
  MscGraph *g;
  int64_t opset;
  uint32_t rng;
  double z[ZOO_SAMPLES];
  GPtrArray *scratch; /* per-channel moment arrays */
  MscValue *relu6_min, *relu6_max;
} Zoo;

/* A feature map with the builder's per-channel mean/variance estimates
 * (the statistics the next BatchNorm is calibrated to). h = w = 0 once
 * flattened. */
typedef struct {
  MscValue *v;
  int64_t c, h, w;
  double *mean, *var;
} Feat;

static double *zoo_array(Zoo *z, int64_t n) {
  double *a = g_new0(double, n);
  g_ptr_array_add(z->scratch, a);
  return a;
}

static Feat feat_new(Zoo *z, MscValue *v, int64_t c, int64_t h, int64_t w) {
  Feat f = {v, c, h, w, zoo_array(z, c), zoo_array(z, c)};
  return f;
}

/* A float32 initializer named @name; returns its data for filling. */
static float *add_weight(Zoo *z, const char *name, int32_t rank, const int64_t *dims, MscValue **out) {
  MscTensor *t = msc_tensor_new(MSC_DTYPE_FLOAT32, rank, dims, NULL);
  if (!t) g_error("zoo: cannot allocate initializer '%s'", name); /* shapes are ours and small */
  msc_tensor_set_name(t, name);
  MscValue *v = msc_graph_add_initializer(z->g, name, t);
  if (out) *out = v;
  return t->data;
}

static MscNode *add_node(Zoo *z, const char *name, const char *op, const char *doc, MscValue **in, uint32_t n_in,
                         const char *out_name, MscValue **out) {
  MscNode *n = msc_graph_add_node(z->g, name, op, "", z->opset);
  n->doc = g_strdup(doc);
  g_autofree char *vname = out_name ? g_strdup(out_name) : g_strdup_printf("%s_out", name);
  MscValue *o = msc_graph_get_or_add_value(z->g, vname);
  msc_node_set_io(n, in, n_in, &o, 1);
  *out = o;
  return n;
}

static void attr_int(MscNode *n, const char *name, int64_t v) {
  MscAttr a = {0};
  a.name = g_strdup(name);
  a.type = MSC_ATTR_INT;
  a.i = v;
  msc_node_add_attr(n, &a);
}

static void attr_float(MscNode *n, const char *name, float v) {
  MscAttr a = {0};
  a.name = g_strdup(name);
  a.type = MSC_ATTR_FLOAT;
  a.f = v;
  msc_node_add_attr(n, &a);
}

static double act_apply(ActKind k, double x) {
  switch (k) {
    case ACT_RELU: return x > 0 ? x : 0;
    case ACT_RELU6: return x < 0 ? 0 : x > 6 ? 6 : x;
    case ACT_HARDSWISH: {
      double r = x + 3 < 0 ? 0 : x + 3 > 6 ? 6 : x + 3;
      return x * r / 6;
    }
  }
  return x;
}

/* Mean and variance of f(X), X ~ N(m, v), over the fixed samples. */
static void act_moments(const Zoo *z, ActKind k, double m, double v, double *om, double *ov) {
  double s = sqrt(v), s1 = 0, s2 = 0;
  for (int i = 0; i < ZOO_SAMPLES; i++) {
    double y = act_apply(k, m + s * z->z[i]);
    s1 += y;
    s2 += y * y;
  }
  *om = s1 / ZOO_SAMPLES;
  *ov = MAX(s2 / ZOO_SAMPLES - *om * *om, 1e-6);
}

static Feat zoo_input(Zoo *z, const char *name, int64_t c, int64_t h, int64_t w) {
  MscValue *v = msc_graph_get_or_add_value(z->g, name);
  v->dtype = MSC_DTYPE_FLOAT32;
  v->rank = 4;
  v->dims[0] = -1;
  v->dims[1] = c;
  v->dims[2] = h;
  v->dims[3] = w;
  v->dim_params[0] = g_strdup("N");
  msc_graph_add_input(z->g, v);
  Feat f = feat_new(z, v, c, h, w);
  for (int64_t i = 0; i < c; i++) f.var[i] = 1.0 / 3.0; /* uniform in [-1,1) */
  return f;
}

static void zoo_output(Zoo *z, MscValue *v, int64_t classes) {
  v->dtype = MSC_DTYPE_FLOAT32;
  v->rank = 2;
  v->dims[0] = -1;
  v->dims[1] = classes;
  v->dim_params[0] = g_strdup("N");
  msc_graph_add_output(z->g, v);
}

/* Conv without bias (a BatchNormalization follows), He-normal weights,
 * "same" padding k/2. */
static Feat zoo_conv(Zoo *z, const char *name, Feat in, int64_t cout, int64_t k, int64_t stride, int64_t group,
                     const char *role) {
  int64_t cin_g = in.c / group, cout_g = cout / group, kk = k * k, pad = k / 2;
  int64_t wd[4] = {cout, cin_g, k, k};
  MscValue *wv;
  g_autofree char *wname = g_strdup_printf("%s.weight", name);
  float *w = add_weight(z, wname, 4, wd, &wv);
  double std = sqrt(2.0 / (double)(cin_g * kk));
  for (int64_t i = 0; i < cout * cin_g * kk; i++) w[i] = (float)(std * normal01(&z->rng));

  int64_t oh = (in.h + 2 * pad - k) / stride + 1, ow = (in.w + 2 * pad - k) / stride + 1;
  g_autofree char *doc = g_strdup_printf("%s: %s%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT
                                         " convolution, %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT " channels",
                                         role, group > 1 ? "depthwise " : "", k, k, stride, in.c, cout);
  MscValue *ins[2] = {in.v, wv}, *o;
  MscNode *n = add_node(z, name, "Conv", doc, ins, 2, NULL, &o);
  int64_t ks[2] = {k, k}, st[2] = {stride, stride}, pads[4] = {pad, pad, pad, pad};
  msc_node_add_attr_ints(n, "kernel_shape", 2, ks);
  msc_node_add_attr_ints(n, "strides", 2, st);
  msc_node_add_attr_ints(n, "pads", 4, pads);
  if (group != 1) attr_int(n, "group", group);

  /* Output moments per channel, treating inputs as independent:
   * mean = sum_i m_i * sum_k w, var = sum_i v_i * sum_k w^2 (padding ignored). */
  Feat f = feat_new(z, o, cout, oh, ow);
  for (int64_t oc = 0; oc < cout; oc++) {
    int64_t g0 = (oc / cout_g) * cin_g;
    double m = 0, v = 0;
    for (int64_t ic = 0; ic < cin_g; ic++) {
      const float *wk = w + (oc * cin_g + ic) * kk;
      double s1 = 0, s2 = 0;
      for (int64_t q = 0; q < kk; q++) {
        s1 += wk[q];
        s2 += (double)wk[q] * wk[q];
      }
      m += in.mean[g0 + ic] * s1;
      v += in.var[g0 + ic] * s2;
    }
    f.mean[oc] = m;
    f.var[oc] = MAX(v, 1e-4);
  }
  return f;
}

/* BatchNormalization calibrated to the estimated input statistics:
 * running mean/var = estimate plus a little noise; gamma uniform in
 * [gamma_lo, gamma_hi], beta around beta_mu. */
static Feat zoo_bn(Zoo *z, const char *name, Feat in, double gamma_lo, double gamma_hi, double beta_mu,
                   const char *role) {
  int64_t d[1] = {in.c};
  MscValue *sv, *bv, *mv, *vv;
  g_autofree char *sn = g_strdup_printf("%s.weight", name);
  g_autofree char *bn = g_strdup_printf("%s.bias", name);
  g_autofree char *mn = g_strdup_printf("%s.running_mean", name);
  g_autofree char *vn = g_strdup_printf("%s.running_var", name);
  float *scale = add_weight(z, sn, 1, d, &sv);
  float *bias = add_weight(z, bn, 1, d, &bv);
  float *mean = add_weight(z, mn, 1, d, &mv);
  float *var = add_weight(z, vn, 1, d, &vv);
  Feat f = feat_new(z, NULL, in.c, in.h, in.w);
  for (int64_t c = 0; c < in.c; c++) {
    scale[c] = (float)(gamma_lo + (gamma_hi - gamma_lo) * uniform01(&z->rng));
    bias[c] = (float)(beta_mu + 0.1 * normal01(&z->rng));
    mean[c] = (float)(in.mean[c] + 0.05 * sqrt(in.var[c]) * normal01(&z->rng));
    var[c] = (float)(in.var[c] * (0.85 + 0.35 * uniform01(&z->rng)));
    double inv = 1.0 / sqrt((double)var[c] + ZOO_BN_EPS);
    f.mean[c] = scale[c] * (in.mean[c] - mean[c]) * inv + bias[c];
    f.var[c] = MAX((double)scale[c] * scale[c] * in.var[c] * inv * inv, 1e-4);
  }
  g_autofree char *doc = g_strdup_printf("%s: batch normalization over %" G_GINT64_FORMAT " channels", role, in.c);
  MscValue *ins[5] = {in.v, sv, bv, mv, vv};
  MscNode *n = add_node(z, name, "BatchNormalization", doc, ins, 5, NULL, &f.v);
  attr_float(n, "epsilon", (float)ZOO_BN_EPS);
  return f;
}

static Feat zoo_act(Zoo *z, const char *name, Feat in, ActKind k, const char *role) {
  Feat f = feat_new(z, NULL, in.c, in.h, in.w);
  for (int64_t c = 0; c < in.c; c++) act_moments(z, k, in.mean[c], in.var[c], &f.mean[c], &f.var[c]);
  MscValue *ins[3] = {in.v, z->relu6_min, z->relu6_max};
  const char *op = k == ACT_RELU ? "Relu" : k == ACT_RELU6 ? "Clip" : "HardSwish";
  const char *what = k == ACT_RELU ? "ReLU" : k == ACT_RELU6 ? "ReLU6 as Clip(0, 6)" : "hard swish";
  g_autofree char *doc = g_strdup_printf("%s: %s", role, what);
  add_node(z, name, op, doc, ins, k == ACT_RELU6 ? 3 : 1, NULL, &f.v);
  return f;
}

static Feat zoo_add(Zoo *z, const char *name, Feat a, Feat b, const char *role) {
  Feat f = feat_new(z, NULL, a.c, a.h, a.w);
  for (int64_t c = 0; c < a.c; c++) {
    f.mean[c] = a.mean[c] + b.mean[c];
    f.var[c] = a.var[c] + b.var[c];
  }
  MscValue *ins[2] = {a.v, b.v};
  add_node(z, name, "Add", role, ins, 2, NULL, &f.v);
  return f;
}

static Feat zoo_maxpool(Zoo *z, const char *name, Feat in) {
  Feat f = feat_new(z, NULL, in.c, (in.h + 2 - 3) / 2 + 1, (in.w + 2 - 3) / 2 + 1);
  /* max of 9 neighbours: shifts the mean up by about one std and narrows
   * the spread (iid Gaussians would give +1.49 std and 0.37 var). */
  for (int64_t c = 0; c < in.c; c++) {
    f.mean[c] = in.mean[c] + sqrt(in.var[c]);
    f.var[c] = 0.5 * in.var[c];
  }
  MscValue *ins[1] = {in.v};
  MscNode *n = add_node(z, name, "MaxPool", "stem: 3x3/2 max pooling", ins, 1, NULL, &f.v);
  int64_t ks[2] = {3, 3}, st[2] = {2, 2}, pads[4] = {1, 1, 1, 1};
  msc_node_add_attr_ints(n, "kernel_shape", 2, ks);
  msc_node_add_attr_ints(n, "strides", 2, st);
  msc_node_add_attr_ints(n, "pads", 4, pads);
  return f;
}

/* GlobalAveragePool + Flatten(axis 1) + Gemm(transB) to @classes. */
static Feat zoo_head(Zoo *z, Feat in, int64_t classes, const char *out_name) {
  Feat p = feat_new(z, NULL, in.c, 1, 1);
  for (int64_t c = 0; c < in.c; c++) {
    p.mean[c] = in.mean[c];
    p.var[c] = 0.1 * in.var[c]; /* averaging correlated maps */
  }
  MscValue *ins[3] = {in.v};
  add_node(z, "head.gap", "GlobalAveragePool", "head: global average pooling", ins, 1, NULL, &p.v);
  ins[0] = p.v;
  MscNode *n = add_node(z, "head.flatten", "Flatten", "head: [N,C,1,1] -> [N,C]", ins, 1, NULL, &p.v);
  attr_int(n, "axis", 1);
  p.h = p.w = 0;

  int64_t wd[2] = {classes, in.c}, bd[1] = {classes};
  MscValue *wv, *bv;
  float *w = add_weight(z, "head.fc.weight", 2, wd, &wv);
  float *b = add_weight(z, "head.fc.bias", 1, bd, &bv);
  double std = sqrt(1.0 / (double)in.c);
  for (int64_t i = 0; i < classes * in.c; i++) w[i] = (float)(std * normal01(&z->rng));
  for (int64_t i = 0; i < classes; i++) b[i] = (float)(0.1 * normal01(&z->rng));
  g_autofree char *doc = g_strdup_printf("head: fully connected %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT, in.c,
                                         classes);
  ins[0] = p.v;
  ins[1] = wv;
  ins[2] = bv;
  Feat f = feat_new(z, NULL, classes, 0, 0);
  n = add_node(z, "head.fc", "Gemm", doc, ins, 3, out_name, &f.v);
  attr_int(n, "transB", 1);
  return f;
}

#define NAME(buf, prefix, suffix) (g_snprintf((buf), sizeof(buf), "%s.%s", (prefix), (suffix)), (buf))

/* ResNet basic block: conv3x3(stride)-bn-relu-conv3x3-bn + shortcut, relu. */
static Feat resnet_block(Zoo *z, const char *prefix, Feat in, int64_t cout, int64_t stride) {
  char nm[96], role[128];
  g_snprintf(role, sizeof role, "%s residual branch", prefix);
  Feat y = zoo_conv(z, NAME(nm, prefix, "conv1"), in, cout, 3, stride, 1, role);
  y = zoo_bn(z, NAME(nm, prefix, "bn1"), y, 0.7, 1.3, 0.1, role);
  y = zoo_act(z, NAME(nm, prefix, "relu1"), y, ACT_RELU, role);
  y = zoo_conv(z, NAME(nm, prefix, "conv2"), y, cout, 3, 1, 1, role);
  /* small gamma on the branch's last BN keeps the sum O(1) */
  y = zoo_bn(z, NAME(nm, prefix, "bn2"), y, 0.2, 0.5, 0.0, role);
  Feat sc = in;
  if (stride != 1 || in.c != cout) {
    g_snprintf(role, sizeof role, "%s projection shortcut", prefix);
    sc = zoo_conv(z, NAME(nm, prefix, "downsample.conv"), in, cout, 1, stride, 1, role);
    sc = zoo_bn(z, NAME(nm, prefix, "downsample.bn"), sc, 0.5, 1.0, 0.0, role);
  }
  g_snprintf(role, sizeof role, "%s: residual sum", prefix);
  y = zoo_add(z, NAME(nm, prefix, "add"), y, sc, role);
  g_snprintf(role, sizeof role, "%s output", prefix);
  return zoo_act(z, NAME(nm, prefix, "relu2"), y, ACT_RELU, role);
}

static void build_resnet_mini(Zoo *z) {
  Feat x = zoo_input(z, "input", 3, ZOO_IMAGE, ZOO_IMAGE);
  x = zoo_conv(z, "stem.conv", x, 16, 3, 2, 1, "stem");
  x = zoo_bn(z, "stem.bn", x, 0.7, 1.3, 0.1, "stem");
  x = zoo_act(z, "stem.relu", x, ACT_RELU, "stem");
  x = zoo_maxpool(z, "stem.pool", x);
  x = resnet_block(z, "layer1.0", x, 16, 1);
  x = resnet_block(z, "layer2.0", x, 32, 2);
  x = resnet_block(z, "layer2.1", x, 32, 1);
  x = resnet_block(z, "layer3.0", x, 64, 2);
  x = zoo_head(z, x, ZOO_CLASSES, "logits");
  zoo_output(z, x.v, ZOO_CLASSES);
}

/* MobileNetV2 inverted residual: 1x1 expand-bn-relu6, depthwise 3x3
 * (stride)-bn-relu6, 1x1 project-bn (linear bottleneck), Add when the
 * shapes match. */
static Feat inverted_residual(Zoo *z, const char *prefix, Feat in, int64_t expand, int64_t cout, int64_t stride) {
  char nm[96], role[128];
  int64_t hid = in.c * expand;
  gboolean residual = stride == 1 && in.c == cout;
  g_snprintf(role, sizeof role, "%s expansion", prefix);
  Feat y = zoo_conv(z, NAME(nm, prefix, "expand.conv"), in, hid, 1, 1, 1, role);
  y = zoo_bn(z, NAME(nm, prefix, "expand.bn"), y, 0.7, 1.3, 0.2, role);
  y = zoo_act(z, NAME(nm, prefix, "expand.relu6"), y, ACT_RELU6, role);
  g_snprintf(role, sizeof role, "%s depthwise", prefix);
  y = zoo_conv(z, NAME(nm, prefix, "dw.conv"), y, hid, 3, stride, hid, role);
  y = zoo_bn(z, NAME(nm, prefix, "dw.bn"), y, 0.7, 1.3, 0.2, role);
  y = zoo_act(z, NAME(nm, prefix, "dw.relu6"), y, ACT_RELU6, role);
  g_snprintf(role, sizeof role, "%s linear bottleneck", prefix);
  y = zoo_conv(z, NAME(nm, prefix, "project.conv"), y, cout, 1, 1, 1, role);
  y = zoo_bn(z, NAME(nm, prefix, "project.bn"), y, residual ? 0.3 : 0.7, residual ? 0.6 : 1.3, 0.0, role);
  if (residual) {
    g_snprintf(role, sizeof role, "%s: residual sum", prefix);
    y = zoo_add(z, NAME(nm, prefix, "add"), y, in, role);
  }
  return y;
}

static void build_mobilenet_mini(Zoo *z) {
  int64_t sd[1] = {0};
  MscTensor *lo = msc_tensor_new(MSC_DTYPE_FLOAT32, 0, sd, NULL);
  MscTensor *hi = msc_tensor_new(MSC_DTYPE_FLOAT32, 0, sd, NULL);
  if (!lo || !hi) g_error("zoo: cannot allocate scalars");
  ((float *)hi->data)[0] = 6.0f;
  msc_tensor_set_name(lo, "relu6.min");
  msc_tensor_set_name(hi, "relu6.max");
  z->relu6_min = msc_graph_add_initializer(z->g, "relu6.min", lo);
  z->relu6_max = msc_graph_add_initializer(z->g, "relu6.max", hi);

  Feat x = zoo_input(z, "input", 3, ZOO_IMAGE, ZOO_IMAGE);
  x = zoo_conv(z, "stem.conv", x, 16, 3, 2, 1, "stem");
  x = zoo_bn(z, "stem.bn", x, 0.7, 1.3, 0.1, "stem");
  x = zoo_act(z, "stem.hardswish", x, ACT_HARDSWISH, "stem");
  x = inverted_residual(z, "block1", x, 4, 24, 2);
  x = inverted_residual(z, "block2", x, 4, 24, 1);
  x = inverted_residual(z, "block3", x, 4, 32, 2);
  x = inverted_residual(z, "block4", x, 4, 32, 1);
  x = zoo_conv(z, "head.conv", x, 128, 1, 1, 1, "head");
  x = zoo_bn(z, "head.bn", x, 0.7, 1.3, 0.1, "head");
  x = zoo_act(z, "head.hardswish", x, ACT_HARDSWISH, "head");
  x = zoo_head(z, x, ZOO_CLASSES, "logits");
  MscValue *ins[1] = {x.v}, *probs;
  MscNode *n = add_node(z, "head.softmax", "Softmax", "head: class probabilities", ins, 1, "probs", &probs);
  attr_int(n, "axis", 1);
  zoo_output(z, probs, ZOO_CLASSES);
}

const char *const *msc_zoo_names(void) {
  return zoo_names;
}

const char *msc_zoo_doc(const char *name) {
  for (int i = 0; name && zoo_names[i]; i++)
    if (!strcmp(name, zoo_names[i])) return zoo_docs[i];
  return NULL;
}

MscGraph *msc_zoo_build(const char *name, GError **error) {
  const char *doc = msc_zoo_doc(name);
  if (!doc) {
    g_autofree char *known = g_strjoinv(", ", (char **)zoo_names);
    msc_set_error(error, MSC_ERR_INVALID_ARG, "zoo: unknown model '%s' (known: %s)", name ? name : "(null)", known);
    return NULL;
  }
  Zoo z = {0};
  z.g = msc_graph_new(name);
  z.opset = !strcmp(name, "mobilenet_mini") ? 14 : 13;
  z.scratch = g_ptr_array_new_with_free_func(g_free);
  uint32_t zs = 0x9E3779B9u; /* fixed: the sample set never depends on the model */
  for (int i = 0; i < ZOO_SAMPLES; i++) z.z[i] = normal01(&zs);
  z.rng = name_seed(name);

  msc_graph_set_opset(z.g, "", z.opset);
  z.g->ir_version = ZOO_IR_VERSION;
  z.g->producer_name = g_strdup("msc-zoo");
  z.g->producer_version = g_strdup(MSC_VERSION);
  z.g->doc = g_strdup_printf("%s (msc zoo, deterministic synthetic weights): %s", name, doc);

  if (!strcmp(name, "resnet_mini")) build_resnet_mini(&z);
  else build_mobilenet_mini(&z);

  g_ptr_array_unref(z.scratch);
  return z.g;
}

MscTensor *msc_zoo_make_input(const MscValue *input, int64_t batch, uint32_t seed, GError **error) {
  g_return_val_if_fail(input != NULL, NULL);
  if (batch < 1) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "input '%s': batch %" G_GINT64_FORMAT " must be >= 1", input->name,
                  batch);
    return NULL;
  }
  if (input->rank < 0 || input->dtype == MSC_DTYPE_UNDEFINED) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "input '%s': dtype or rank unknown", input->name);
    return NULL;
  }
  switch (input->dtype) {
    case MSC_DTYPE_FLOAT32: case MSC_DTYPE_FLOAT16: case MSC_DTYPE_INT8: case MSC_DTYPE_UINT8:
    case MSC_DTYPE_INT32: case MSC_DTYPE_INT64: case MSC_DTYPE_BOOL:
      break;
    default:
      msc_set_error(error, MSC_ERR_UNSUPPORTED, "input '%s': UNSUPPORTED dtype %s", input->name,
                    msc_dtype_name(input->dtype));
      return NULL;
  }
  int64_t dims[MSC_MAX_RANK];
  for (int32_t i = 0; i < input->rank; i++) dims[i] = input->dims[i] < 0 ? batch : input->dims[i];
  MscTensor *t = msc_tensor_new(input->dtype, input->rank, dims, error);
  if (!t) return NULL;
  msc_tensor_set_name(t, input->name);
  msc_tensor_fill_random(t, seed);
  return t;
}
