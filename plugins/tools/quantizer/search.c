/* search.c: the accuracy-aware quantizer's choice of layers kept in
 * float ("sensitivity" search). Each candidate's sensitivity is measured
 * once, alone in int8; candidates are then reverted in decreasing
 * sensitivity, the count found by bisection, and a final pass brings back
 * to int8 every reverted node the tolerance allows (least sensitive
 * first; when plain int8 misses, each alternative the caller offers, e.g.
 * another range method for the node's tensors). Nodes that miss the tolerance even alone in int8 are reverted
 * without further tries. Cost: at most N + log2(N) + R + 2 evaluations
 * for N candidates and R reverted, against up to N^2 / 2 for one-by-one
 * greedy reverting. The
 * evaluation itself is a callback (quantizer.c). */
#include <math.h>
#include <string.h>

#include "quant.h"

typedef struct {
  MscQEvalFn fn;
  void *user;
  guint n_outputs;
  const gboolean *mask;
  double tolerance;
  double *cos;
  guint *count;
} Ev;

static double min_of(const double *c, guint n, const gboolean *mask) {
  double m = 1.0;
  for (guint j = 0; j < n; j++)
    if (!mask || mask[j]) m = fmin(m, isnan(c[j]) ? -1.0 : c[j]);
  return m;
}

/* Evaluates @set; *min_cos receives the worst output cosine. */
static gboolean run(Ev *e, GPtrArray *set, double *min_cos, GError **error) {
  (*e->count)++;
  if (!e->fn(e->user, set, e->cos, error)) return FALSE;
  *min_cos = min_of(e->cos, e->n_outputs, e->mask);
  return TRUE;
}

/* @cands minus the nodes in @drop (hash set), in graph order. */
static GPtrArray *minus(GPtrArray *cands, GHashTable *drop) {
  GPtrArray *a = g_ptr_array_new();
  for (guint i = 0; i < cands->len; i++)
    if (!g_hash_table_contains(drop, g_ptr_array_index(cands, i))) g_ptr_array_add(a, g_ptr_array_index(cands, i));
  return a;
}

/* The first @r of @order as a set. */
static GHashTable *top(GPtrArray *order, guint r) {
  GHashTable *h = g_hash_table_new(g_str_hash, g_str_equal);
  for (guint i = 0; i < r && i < order->len; i++) g_hash_table_add(h, g_ptr_array_index(order, i));
  return h;
}

static void step(MscQSearch *s, const char *phase, const char *node, gint64 count, double min_cos, gboolean met) {
  JsonObject *o = json_object_new();
  json_object_set_string_member(o, "phase", phase);
  if (node) json_object_set_string_member(o, "node", node);
  if (count >= 0) json_object_set_int_member(o, "reverted", count);
  json_object_set_double_member(o, "min_output_cosine", min_cos);
  json_object_set_boolean_member(o, "met", met);
  json_array_add_object_element(s->steps, o);
}

typedef struct {
  const char *name;
  double sens;
  guint pos;
} Ranked;

static gint by_sensitivity(gconstpointer a, gconstpointer b) {
  const Ranked *x = a, *y = b;
  if (x->sens != y->sens) return x->sens > y->sens ? -1 : 1;
  return x->pos < y->pos ? -1 : x->pos > y->pos;
}

gboolean msc_quant_search(GPtrArray *cands, guint n_outputs, const gboolean *mask, double tol, MscQEvalFn fn,
                          MscQAltFn alt, void *user, MscQSearch *s, GError **error) {
  memset(s, 0, sizeof *s);
  s->order = g_ptr_array_new();
  s->sensitivity = g_array_new(FALSE, FALSE, sizeof(double));
  s->reverted = g_ptr_array_new_with_free_func(g_free);
  s->cos = g_new0(double, n_outputs + 1);
  s->steps = json_array_new();
  s->alternatives = g_ptr_array_new_with_free_func(g_free);
  Ev e = {fn, user, n_outputs, mask, tol, g_new0(double, n_outputs + 1), &s->evaluations};
  gboolean ok = TRUE;
  double mc;
  GHashTable *rev = NULL;
  ok = run(&e, cands, &mc, error);
  if (!ok) goto out;
  s->initial_min_cos = mc;
  memcpy(s->cos, e.cos, n_outputs * sizeof(double));
  step(s, "all", NULL, 0, mc, mc >= tol);
  if (mc >= tol) {
    s->final_min_cos = mc;
    s->met = TRUE;
    goto out;
  }
  /* 1. sensitivity of each candidate alone */
  Ranked *rk = g_new(Ranked, cands->len + 1);
  GPtrArray *one = g_ptr_array_new();
  for (guint i = 0; i < cands->len && ok; i++) {
    g_ptr_array_set_size(one, 0);
    g_ptr_array_add(one, g_ptr_array_index(cands, i));
    ok = run(&e, one, &mc, error);
    rk[i] = (Ranked){g_ptr_array_index(cands, i), 1.0 - mc, i};
  }
  g_ptr_array_unref(one);
  if (!ok) {
    g_free(rk);
    goto out;
  }
  qsort(rk, cands->len, sizeof *rk, (int (*)(const void *, const void *))by_sensitivity);
  for (guint i = 0; i < cands->len; i++) {
    g_ptr_array_add(s->order, (gpointer)rk[i].name);
    g_array_append_val(s->sensitivity, rk[i].sens);
  }
  g_free(rk);
  /* 2. bisection on the number reverted: lo fails, hi meets (or is all).
   * A node missing the tolerance alone is taken to miss it in any company:
   * the first n_alone of the order are reverted without trying. */
  guint n_alone = 0;
  while (n_alone < cands->len && 1.0 - g_array_index(s->sensitivity, double, n_alone) < tol) n_alone++;
  s->failing_alone = n_alone;
  guint lo = n_alone ? n_alone - 1 : 0, hi = cands->len;
  double hi_cos = NAN;
  {
    GHashTable *d = top(s->order, hi);
    GPtrArray *set = minus(cands, d);
    ok = run(&e, set, &mc, error);
    g_ptr_array_unref(set);
    g_hash_table_unref(d);
    if (!ok) goto out;
    step(s, "bisect", NULL, hi, mc, mc >= tol);
    hi_cos = mc;
    memcpy(s->cos, e.cos, n_outputs * sizeof(double));
  }
  if (hi_cos < tol) { /* not reachable even with every candidate in float */
    rev = top(s->order, hi);
    s->final_min_cos = hi_cos;
    goto done;
  }
  while (hi - lo > 1) {
    guint mid = lo + (hi - lo) / 2;
    GHashTable *d = top(s->order, mid);
    GPtrArray *set = minus(cands, d);
    ok = run(&e, set, &mc, error);
    g_ptr_array_unref(set);
    g_hash_table_unref(d);
    if (!ok) goto out;
    step(s, "bisect", NULL, mid, mc, mc >= tol);
    if (mc >= tol) {
      hi = mid;
      hi_cos = mc;
      memcpy(s->cos, e.cos, n_outputs * sizeof(double));
    } else {
      lo = mid;
    }
  }
  /* 3. bring reverted nodes back to int8, least sensitive first */
  rev = top(s->order, hi);
  for (gint i = (gint)hi - 1; i >= (gint)n_alone && ok; i--) {
    const char *name = g_ptr_array_index(s->order, i);
    g_hash_table_remove(rev, name);
    GPtrArray *set = minus(cands, rev);
    ok = run(&e, set, &mc, error);
    if (!ok) {
      g_ptr_array_unref(set);
      goto out;
    }
    step(s, "restore", name, -1, mc, mc >= tol);
    for (guint k = 0; mc < tol && alt && alt(user, name, k); k++) {
      ok = run(&e, set, &mc, error);
      if (!ok) break;
      g_autofree char *what = g_strdup_printf("%s:%u", name, k);
      step(s, "restore-alternative", what, -1, mc, mc >= tol);
      if (mc >= tol) g_ptr_array_add(s->alternatives, g_steal_pointer(&what));
    }
    g_ptr_array_unref(set);
    if (!ok) goto out;
    if (mc >= tol) {
      hi_cos = mc;
      memcpy(s->cos, e.cos, n_outputs * sizeof(double));
    } else {
      if (alt) alt(user, name, MSC_QALT_RESET);
      g_hash_table_add(rev, (gpointer)name);
    }
  }
  s->final_min_cos = hi_cos;
  s->met = TRUE;
done:
  for (guint i = 0; i < cands->len; i++)
    if (g_hash_table_contains(rev, g_ptr_array_index(cands, i)))
      g_ptr_array_add(s->reverted, g_strdup(g_ptr_array_index(cands, i)));
out:
  if (rev) g_hash_table_unref(rev);
  g_free(e.cos);
  return ok;
}

void msc_qsearch_clear(MscQSearch *s) {
  if (s->order) g_ptr_array_unref(s->order);
  if (s->sensitivity) g_array_unref(s->sensitivity);
  if (s->reverted) g_ptr_array_unref(s->reverted);
  if (s->steps) json_array_unref(s->steps);
  if (s->alternatives) g_ptr_array_unref(s->alternatives);
  g_free(s->cos);
  memset(s, 0, sizeof *s);
}
