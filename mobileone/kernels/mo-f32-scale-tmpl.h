/* mobileone-gst engine: per-channel gating (squeeze-excite), one template
 * for every ISA. An instantiation (mo-f32-scale-<isa>.c) includes its
 * vector header (mo-vec-<isa>.h), defines MO_KERNEL, the name of the
 * function to define, then includes this file. */
#if !defined(MO_KERNEL) || !defined(MO_VW)
#error "instantiate through mo-f32-scale-<isa>.c"
#endif

#include <assert.h>

void
MO_KERNEL (const MoScaleParams *p)
{
  const int c_end = MO_ROUND_UP (p->c, MO_CALIGN);

  assert (c_end <= p->in_cs && c_end <= p->out_cs);
  for (int m = p->m0; m < p->m1; m++) {
    const float *i = p->in + (size_t) m * p->in_cs;
    float *o = p->out + (size_t) m * p->out_cs;
    for (int c = 0; c < c_end; c += MO_VW) {
      MoVec v = mo_vmul (mo_vload (i + c), mo_vload (p->gate + c));
      if (p->act == MO_ACT_RELU)
        v = mo_vrelu (v);
      mo_vstore (o + c, v);
    }
    if (p->act == MO_ACT_SIGMOID)
      for (int c = 0; c < c_end; c++)
        o[c] = mo_act (o[c], MO_ACT_SIGMOID);
  }
}
