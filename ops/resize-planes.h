/* resize-planes.h: the plane-by-plane form of Resize / Upsample (linear or cubic, float32, every axis but
 * the last two the identity), for callers that split the planes over threads (the cpu runner). The
 * reference kernel (ops/resize.c) runs the same code on all planes, so both give the same bits.
 *
 * Lifecycle: msc_resize_planes_new() once per shape from an op context whose input 0 has the dims
 * (its data may be NULL) and whose roi / scales / sizes inputs have their data; then
 * msc_resize_planes_run() on plane ranges, from any number of threads (the plan is read-only), each
 * with its own scratch of msc_resize_planes_tmp() floats; msc_resize_planes_free(). */
#ifndef MSC_RESIZE_PLANES_H
#define MSC_RESIZE_PLANES_H

#include <stddef.h>
#include <stdint.h>

#include "msc-op.h"

typedef struct MscResizePlanes MscResizePlanes;

/* Returns: (transfer full) (nullable): NULL when the plane form does not apply (nearest mode, not
 * float32, a leading axis resized, scales or sizes not known) or on a bad node (then ctx->status and
 * ctx->message say why). */
MscResizePlanes *msc_resize_planes_new(MscOpCtx *ctx);
void msc_resize_planes_free(MscResizePlanes *rp);
/* Planes (the product of the leading dims), and floats of scratch one msc_resize_planes_run call needs. */
int64_t msc_resize_planes_count(const MscResizePlanes *rp);
size_t msc_resize_planes_tmp(const MscResizePlanes *rp);
/* Planes [p0, p1) of @x (the whole input) into @y (the whole output); @tmp: msc_resize_planes_tmp floats. */
void msc_resize_planes_run(const MscResizePlanes *rp, const float *x, float *y, int64_t p0, int64_t p1, float *tmp);

#endif
