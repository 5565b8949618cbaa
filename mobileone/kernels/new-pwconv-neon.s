Disassembly of section .text:

ADDR:
stp	x29, x30, [sp, #-176]!
mov	x9, x0
mov	x29, sp
ldr	w0, [x0, #64]
ldr	w2, [x9, #48]
add	w0, w0, #0xf
ldr	w6, [x9, #60]
negs	w1, w0
and	w3, w0, #0xf
and	w1, w1, #0xf
csneg	w1, w3, w1, mi	// mi = first
sub	w1, w0, w1
cmp	w2, #0x1
b.eq	ADDR  // b.none
cmp	w1, w6
b.le	ADDR
stp	x23, x24, [sp, #48]
sxtw	x23, w6
stp	x19, x20, [sp, #16]
stp	x21, x22, [sp, #32]
stp	x25, x26, [sp, #64]
mov	w25, #0xc                   	// #12
stp	x27, x28, [sp, #80]
mov	w28, #0x40                  	// #64
stp	d8, d9, [sp, #96]
stp	d10, d11, [sp, #112]
stp	d12, d13, [sp, #128]
negs	w0, w6
and	w2, w6, #0x3f
and	w0, w0, #0x3f
csneg	w0, w2, w0, mi	// mi = first
lsl	x7, x23, #2
ldp	w16, w2, [x9, #40]
sub	w3, w6, w0
ldp	x10, x8, [x9, #16]
sxtw	x0, w0
ldp	w4, w19, [x9, #52]
sub	w2, w2, w3
smaddl	x3, w3, w16, x0
cmp	w2, #0x40
add	w20, w4, #0x5
ldr	w5, [x9, #32]
ldr	w0, [x9, #36]
csel	w2, w2, w28, le
add	x12, x10, x3, lsl #2
add	x13, x8, x7
cmp	w19, w20
b.lt	ADDR  // b.tstop
smaddl	x18, w0, w4, x23
sbfiz	x11, x2, #2, #32
smull	x3, w5, w4
sbfiz	x15, x0, #2, #32
smull	x24, w0, w25
sbfiz	x17, x5, #2, #32
lsl	x18, x18, #2
sbfiz	x21, x16, #2, #32
lsl	x3, x3, #2
sbfiz	x22, x0, #3, #32
sbfiz	x26, x0, #4, #32
str	w1, [sp, #152]
stp	w6, w5, [sp, #160]
str	w0, [sp, #168]
add	x10, x3, x17
add	x14, x10, x17
add	x27, x14, x17
ldp	x1, x30, [x9]
add	x6, x27, x17
ldp	q20, q19, [x13]
ldp	q18, q17, [x13, #32]
cmp	w16, #0x0
b.le	ADDR
add	x5, x1, x21
mov	x0, x12
mov	v21.16b, v17.16b
add	x1, x1, x3
mov	v22.16b, v18.16b
add	x5, x5, x3
mov	v23.16b, v19.16b
mov	v24.16b, v20.16b
mov	v25.16b, v17.16b
mov	v26.16b, v18.16b
mov	v27.16b, v19.16b
mov	v28.16b, v20.16b
mov	v29.16b, v17.16b
mov	v30.16b, v18.16b
mov	v31.16b, v19.16b
mov	v8.16b, v20.16b
mov	v9.16b, v17.16b
mov	v10.16b, v18.16b
mov	v11.16b, v19.16b
mov	v12.16b, v20.16b
nop
sub	x4, x1, x3
ld1r	{v4.4s}, [x1]
ldp	q3, q2, [x0]
add	x1, x1, #0x4
ldp	q1, q0, [x0, #32]
add	x0, x0, x11
ldr	s16, [x4, x10]
ldr	s7, [x4, x14]
ldr	s6, [x4, x27]
fmla	v12.4s, v3.4s, v16.s[0]
ldr	s5, [x4, x6]
fmla	v11.4s, v2.4s, v16.s[0]
fmla	v10.4s, v1.4s, v16.s[0]
fmla	v9.4s, v0.4s, v16.s[0]
fmla	v8.4s, v3.4s, v7.s[0]
fmla	v31.4s, v2.4s, v7.s[0]
fmla	v30.4s, v1.4s, v7.s[0]
fmla	v29.4s, v0.4s, v7.s[0]
fmla	v28.4s, v3.4s, v6.s[0]
fmla	v27.4s, v2.4s, v6.s[0]
fmla	v26.4s, v1.4s, v6.s[0]
fmla	v25.4s, v0.4s, v6.s[0]
fmla	v24.4s, v3.4s, v5.s[0]
fmla	v23.4s, v2.4s, v5.s[0]
fmla	v22.4s, v1.4s, v5.s[0]
fmla	v21.4s, v0.4s, v5.s[0]
fmla	v20.4s, v4.4s, v3.4s
fmla	v19.4s, v4.4s, v2.4s
fmla	v18.4s, v4.4s, v1.4s
fmla	v17.4s, v4.4s, v0.4s
cmp	x1, x5
b.ne	ADDR  // b.any
add	x0, x30, x18
add	x4, x18, x15
add	x1, x0, x15
str	q20, [x30, x18]
add	x10, x4, x15
stp	q19, q18, [x0, #16]
add	x5, x10, x15
add	x3, x6, x17
str	q17, [x0, #48]
add	x6, x5, x15
add	x18, x15, x6
str	q12, [x30, x4]
add	x4, x0, x22
stp	q11, q10, [x1, #16]
str	q9, [x1, #48]
add	x1, x0, x24
add	x0, x0, x26
str	q8, [x30, x10]
stp	q31, q30, [x4, #16]
str	q29, [x4, #48]
add	w4, w20, #0x5
str	q28, [x30, x5]
stp	q27, q26, [x1, #16]
str	q25, [x1, #48]
str	q24, [x30, x6]
stp	q23, q22, [x0, #16]
str	q21, [x0, #48]
cmp	w19, w4
b.lt	ADDR  // b.tstop
mov	w20, w4
b	ADDR
ldr	w1, [sp, #152]
mov	w4, w20
ldp	w6, w5, [sp, #160]
ldr	w0, [sp, #168]
cmp	w19, w4
b.eq	ADDR  // b.none
ldp	x17, x14, [x9]
smaddl	x10, w0, w4, x23
sxtw	x3, w4
sbfiz	x15, x5, #2, #32
sub	w19, w19, w4
sxtw	x11, w5
lsl	x10, x10, #2
madd	x3, x3, x15, x17
add	x4, x14, x10
cmp	w19, #0x3
b.eq	ADDR  // b.none
b.gt	ADDR
cmp	w19, #0x1
b.eq	ADDR  // b.none
cmp	w19, #0x2
b.ne	ADDR  // b.any
ldr	q3, [x8, x7]
ldp	q2, q1, [x13, #16]
ldr	q0, [x13, #48]
cmp	w16, #0x0
b.le	ADDR
mov	v4.16b, v0.16b
sbfiz	x2, x2, #2, #32
mov	v5.16b, v1.16b
add	x16, x3, w16, sxtw #2
mov	v6.16b, v2.16b
mov	v7.16b, v3.16b
ldp	q13, q12, [x12]
ldp	q11, q10, [x12, #32]
add	x12, x12, x2
ldr	s8, [x3, x15]
ld1r	{v9.4s}, [x3]
add	x3, x3, #0x4
fmla	v7.4s, v13.4s, v8.s[0]
fmla	v3.4s, v9.4s, v13.4s
fmla	v2.4s, v9.4s, v12.4s
fmla	v6.4s, v12.4s, v8.s[0]
fmla	v1.4s, v9.4s, v11.4s
fmla	v5.4s, v11.4s, v8.s[0]
fmla	v0.4s, v9.4s, v10.4s
fmla	v4.4s, v10.4s, v8.s[0]
cmp	x3, x16
b.ne	ADDR  // b.any
sbfiz	x0, x0, #2, #32
str	q3, [x14, x10]
add	x2, x4, x0
stp	q2, q1, [x4, #16]
str	q0, [x4, #48]
str	q7, [x4, x0]
stp	q6, q5, [x2, #16]
str	q4, [x2, #48]
add	w6, w6, #0x10
add	x23, x23, #0x10
cmp	w1, w6
b.gt	ADDR
ldp	x19, x20, [sp, #16]
ldp	x21, x22, [sp, #32]
ldp	x23, x24, [sp, #48]
ldp	x25, x26, [sp, #64]
ldp	x27, x28, [sp, #80]
ldp	d8, d9, [sp, #96]
ldp	d10, d11, [sp, #112]
ldp	d12, d13, [sp, #128]
ldr	w2, [x9, #48]
cmp	w2, #0x2
b.eq	ADDR  // b.none
ldp	x29, x30, [sp], #176
ret
cmp	w19, #0x4
b.ne	ADDR  // b.any
ldr	q3, [x8, x7]
smull	x5, w5, w25
ldp	q2, q1, [x13, #16]
lsl	x11, x11, #3
ldr	q0, [x13, #48]
cmp	w16, #0x0
b.le	ADDR
mov	v4.16b, v0.16b
sbfiz	x2, x2, #2, #32
mov	v5.16b, v1.16b
add	x16, x3, w16, sxtw #2
mov	v6.16b, v2.16b
mov	v7.16b, v3.16b
mov	v8.16b, v0.16b
mov	v9.16b, v1.16b
mov	v10.16b, v2.16b
mov	v11.16b, v3.16b
mov	v12.16b, v0.16b
mov	v13.16b, v1.16b
mov	v16.16b, v2.16b
mov	v17.16b, v3.16b
ldp	q22, q21, [x12]
ldp	q20, q18, [x12, #32]
add	x12, x12, x2
ldr	s24, [x3, x15]
ldr	s23, [x3, x11]
ldr	s19, [x3, x5]
fmla	v17.4s, v22.4s, v24.s[0]
ld1r	{v25.4s}, [x3]
fmla	v16.4s, v21.4s, v24.s[0]
add	x3, x3, #0x4
fmla	v13.4s, v20.4s, v24.s[0]
fmla	v3.4s, v25.4s, v22.4s
fmla	v2.4s, v25.4s, v21.4s
fmla	v1.4s, v25.4s, v20.4s
fmla	v0.4s, v25.4s, v18.4s
fmla	v12.4s, v18.4s, v24.s[0]
fmla	v11.4s, v22.4s, v23.s[0]
fmla	v10.4s, v21.4s, v23.s[0]
fmla	v9.4s, v20.4s, v23.s[0]
fmla	v8.4s, v18.4s, v23.s[0]
fmla	v7.4s, v22.4s, v19.s[0]
fmla	v6.4s, v21.4s, v19.s[0]
fmla	v5.4s, v20.4s, v19.s[0]
fmla	v4.4s, v18.4s, v19.s[0]
cmp	x3, x16
b.ne	ADDR  // b.any
sbfiz	x2, x0, #2, #32
mov	x7, #0x4                   	// #4
mov	w5, #0x3                   	// #3
add	x3, x4, x2
str	q3, [x14, x10]
mov	x11, #0x30                  	// #48
smaddl	x5, w0, w5, x7
stp	q2, q1, [x4, #16]
add	x7, x4, w0, sxtw #3
add	x10, x3, x2
str	q0, [x4, #48]
lsl	x5, x5, #2
smaddl	x0, w0, w25, x11
str	q17, [x4, x2]
add	x8, x4, x5
stp	q16, q13, [x3, #16]
str	q12, [x3, #48]
str	q11, [x3, x2]
stp	q10, q9, [x7, #16]
str	q8, [x7, #48]
str	q7, [x10, x2]
str	q6, [x4, x5]
str	q5, [x8, #16]
str	q4, [x4, x0]
b	ADDR
mov	v21.16b, v17.16b
mov	v22.16b, v18.16b
mov	v23.16b, v19.16b
mov	v24.16b, v20.16b
mov	v25.16b, v17.16b
mov	v26.16b, v18.16b
mov	v27.16b, v19.16b
mov	v28.16b, v20.16b
mov	v29.16b, v17.16b
mov	v30.16b, v18.16b
mov	v31.16b, v19.16b
mov	v8.16b, v20.16b
mov	v9.16b, v17.16b
mov	v10.16b, v18.16b
mov	v11.16b, v19.16b
mov	v12.16b, v20.16b
b	ADDR
ldr	q3, [x8, x7]
lsl	x11, x11, #3
ldp	q2, q1, [x13, #16]
ldr	q0, [x13, #48]
cmp	w16, #0x0
b.le	ADDR
mov	v4.16b, v0.16b
sbfiz	x2, x2, #2, #32
mov	v5.16b, v1.16b
add	x16, x3, w16, sxtw #2
mov	v6.16b, v2.16b
mov	v7.16b, v3.16b
mov	v8.16b, v0.16b
mov	v9.16b, v1.16b
mov	v10.16b, v2.16b
mov	v11.16b, v3.16b
ldp	q20, q19, [x12]
ldp	q18, q17, [x12, #32]
add	x12, x12, x2
ldr	s13, [x3, x15]
ldr	s12, [x3, x11]
ld1r	{v16.4s}, [x3]
add	x3, x3, #0x4
fmla	v11.4s, v20.4s, v13.s[0]
fmla	v10.4s, v19.4s, v13.s[0]
fmla	v3.4s, v16.4s, v20.4s
fmla	v2.4s, v16.4s, v19.4s
fmla	v1.4s, v16.4s, v18.4s
fmla	v0.4s, v16.4s, v17.4s
fmla	v9.4s, v18.4s, v13.s[0]
fmla	v8.4s, v17.4s, v13.s[0]
fmla	v7.4s, v20.4s, v12.s[0]
fmla	v6.4s, v19.4s, v12.s[0]
fmla	v5.4s, v18.4s, v12.s[0]
fmla	v4.4s, v17.4s, v12.s[0]
cmp	x3, x16
b.ne	ADDR  // b.any
sbfiz	x3, x0, #2, #32
str	q3, [x14, x10]
add	x2, x4, x3
stp	q2, q1, [x4, #16]
add	x0, x4, w0, sxtw #3
str	q0, [x4, #48]
str	q11, [x4, x3]
stp	q10, q9, [x2, #16]
str	q8, [x2, #48]
str	q7, [x2, x3]
stp	q6, q5, [x0, #16]
str	q4, [x0, #48]
b	ADDR
ldr	q4, [x8, x7]
ldp	q3, q2, [x13, #16]
ldr	q1, [x13, #48]
cmp	w16, #0x0
b.le	ADDR
sbfiz	x2, x2, #2, #32
add	x16, x3, w16, sxtw #2
ldp	q8, q7, [x12]
ldp	q6, q5, [x12, #32]
add	x12, x12, x2
ld1r	{v0.4s}, [x3], #4
fmla	v4.4s, v0.4s, v8.4s
fmla	v3.4s, v0.4s, v7.4s
fmla	v2.4s, v0.4s, v6.4s
fmla	v1.4s, v0.4s, v5.4s
cmp	x3, x16
b.ne	ADDR  // b.any
str	q4, [x14, x10]
stp	q3, q2, [x4, #16]
str	q1, [x4, #48]
b	ADDR
sxtw	x13, w6
cmp	w1, w6
b.le	ADDR
movi	v0.4s, #0x0
stp	x19, x20, [sp, #16]
stp	x21, x22, [sp, #32]
stp	x23, x24, [sp, #48]
stp	x25, x26, [sp, #64]
mov	w26, #0x40                  	// #64
mov	w25, #0xc                   	// #12
stp	x27, x28, [sp, #80]
mov	w28, #0x3                   	// #3
stp	d8, d9, [sp, #96]
stp	d10, d11, [sp, #112]
stp	d12, d13, [sp, #128]
negs	w0, w6
and	w2, w6, #0x3f
and	w0, w0, #0x3f
csneg	w0, w2, w0, mi	// mi = first
ldr	w8, [x9, #44]
ldp	w3, w7, [x9, #36]
sub	w2, w6, w0
ldp	x4, x14, [x9, #16]
sxtw	x0, w0
ldp	w5, w18, [x9, #52]
sub	w8, w8, w2
smaddl	x2, w2, w7, x0
lsl	x12, x13, #2
cmp	w8, #0x40
add	w11, w5, #0x5
ldr	w0, [x9, #32]
csel	w8, w8, w26, le
add	x4, x4, x2, lsl #2
add	x10, x14, x12
cmp	w18, w11
b.lt	ADDR  // b.tstop
smaddl	x19, w3, w5, x13
sbfiz	x2, x3, #4, #32
smull	x5, w0, w5
mov	w23, w11
smull	x30, w3, w25
sbfiz	x17, x8, #2, #32
sbfiz	x20, x3, #2, #32
sbfiz	x22, x0, #2, #32
lsl	x19, x19, #2
sbfiz	x24, x7, #2, #32
lsl	x5, x5, #2
sbfiz	x27, x3, #3, #32
str	x2, [sp, #152]
mov	w2, w6
stp	w1, w0, [sp, #160]
str	w3, [sp, #168]
add	x11, x5, x22
add	x15, x11, x22
add	x16, x15, x22
ldp	x1, x21, [x9]
add	x6, x16, x22
ldp	q13, q12, [x10]
ldp	q11, q10, [x10, #32]
cmp	w7, #0x0
b.le	ADDR
add	x3, x1, x24
mov	x0, x4
mov	v16.16b, v10.16b
add	x1, x1, x5
mov	v17.16b, v11.16b
add	x3, x3, x5
mov	v18.16b, v12.16b
str	w7, [sp, #172]
mov	v19.16b, v13.16b
mov	v20.16b, v10.16b
mov	v21.16b, v11.16b
mov	v22.16b, v12.16b
mov	v23.16b, v13.16b
mov	v24.16b, v10.16b
mov	v25.16b, v11.16b
mov	v26.16b, v12.16b
mov	v27.16b, v13.16b
mov	v28.16b, v10.16b
mov	v29.16b, v11.16b
mov	v30.16b, v12.16b
mov	v31.16b, v13.16b
nop
sub	x7, x1, x5
ld1r	{v5.4s}, [x1]
ldp	q4, q3, [x0]
add	x1, x1, #0x4
ldp	q2, q1, [x0, #32]
add	x0, x0, x17
ldr	s9, [x7, x11]
ldr	s8, [x7, x15]
ldr	s7, [x7, x16]
fmla	v31.4s, v4.4s, v9.s[0]
ldr	s6, [x7, x6]
fmla	v30.4s, v3.4s, v9.s[0]
fmla	v29.4s, v2.4s, v9.s[0]
fmla	v28.4s, v1.4s, v9.s[0]
fmla	v27.4s, v4.4s, v8.s[0]
fmla	v26.4s, v3.4s, v8.s[0]
fmla	v25.4s, v2.4s, v8.s[0]
fmla	v24.4s, v1.4s, v8.s[0]
fmla	v23.4s, v4.4s, v7.s[0]
fmla	v22.4s, v3.4s, v7.s[0]
fmla	v21.4s, v2.4s, v7.s[0]
fmla	v20.4s, v1.4s, v7.s[0]
fmla	v19.4s, v4.4s, v6.s[0]
fmla	v18.4s, v3.4s, v6.s[0]
fmla	v17.4s, v2.4s, v6.s[0]
fmla	v16.4s, v1.4s, v6.s[0]
fmla	v13.4s, v5.4s, v4.4s
fmla	v12.4s, v5.4s, v3.4s
fmla	v11.4s, v5.4s, v2.4s
fmla	v10.4s, v5.4s, v1.4s
cmp	x1, x3
b.ne	ADDR  // b.any
ldr	w7, [sp, #172]
fmax	v13.4s, v13.4s, v0.4s
add	x0, x21, x19
fmax	v12.4s, v12.4s, v0.4s
add	x1, x19, x20
fmax	v11.4s, v11.4s, v0.4s
add	x3, x0, x20
fmax	v10.4s, v10.4s, v0.4s
add	x5, x6, x22
fmax	v31.4s, v31.4s, v0.4s
str	q13, [x21, x19]
add	x6, x1, x20
fmax	v30.4s, v30.4s, v0.4s
stp	q12, q11, [x0, #16]
fmax	v29.4s, v29.4s, v0.4s
str	q10, [x0, #48]
fmax	v28.4s, v28.4s, v0.4s
str	q31, [x21, x1]
add	x1, x0, x27
fmax	v27.4s, v27.4s, v0.4s
stp	q30, q29, [x3, #16]
fmax	v26.4s, v26.4s, v0.4s
str	q28, [x3, #48]
add	x3, x6, x20
fmax	v25.4s, v25.4s, v0.4s
str	q27, [x21, x6]
add	x6, x0, x30
fmax	v24.4s, v24.4s, v0.4s
fmax	v23.4s, v23.4s, v0.4s
ldr	x11, [sp, #152]
stp	q26, q25, [x1, #16]
fmax	v22.4s, v22.4s, v0.4s
str	q24, [x1, #48]
add	x1, x3, x20
fmax	v21.4s, v21.4s, v0.4s
add	x0, x0, x11
fmax	v20.4s, v20.4s, v0.4s
str	q23, [x21, x3]
add	w3, w23, #0x5
fmax	v19.4s, v19.4s, v0.4s
add	x19, x20, x1
fmax	v18.4s, v18.4s, v0.4s
stp	q22, q21, [x6, #16]
fmax	v17.4s, v17.4s, v0.4s
str	q20, [x6, #48]
fmax	v16.4s, v16.4s, v0.4s
str	q19, [x21, x1]
stp	q18, q17, [x0, #16]
str	q16, [x0, #48]
cmp	w18, w3
b.lt	ADDR  // b.tstop
mov	w23, w3
b	ADDR
stp	x19, x20, [sp, #16]
ldp	w20, w2, [x9, #52]
cmp	w20, w2
b.ge	ADDR  // b.tcont
ldr	w0, [x9, #60]
cmp	w1, w0
b.le	ADDR
sub	w2, w2, w20
sub	w1, w1, w0
sxtw	x20, w20
stp	x21, x22, [sp, #32]
sxtw	x21, w0
stp	x25, x26, [sp, #64]
add	x22, x2, x20
ldrsw	x26, [x9, #36]
ldr	x25, [x9, #8]
add	x19, x1, x21
stp	x23, x24, [sp, #48]
stp	d8, d9, [sp, #96]
fmov	s8, #1.000000000000000000e+00
mul	x0, x26, x20
add	x24, x0, x21
add	x0, x19, x0
add	x24, x25, x24, lsl #2
add	x23, x25, x0, lsl #2
ldr	s0, [x24]
fneg	s0, s0
bl	ADDR
fadd	s0, s0, s8
fdiv	s0, s8, s0
str	s0, [x24], #4
cmp	x24, x23
b.ne	ADDR  // b.any
add	x20, x20, #0x1
cmp	x20, x22
b.ne	ADDR  // b.any
ldp	x19, x20, [sp, #16]
ldp	x21, x22, [sp, #32]
ldp	x23, x24, [sp, #48]
ldp	x25, x26, [sp, #64]
ldp	d8, d9, [sp, #96]
ldp	x29, x30, [sp], #176
ret
ldp	w1, w0, [sp, #160]
mov	w6, w2
ldr	w3, [sp, #168]
mov	w5, w23
cmp	w18, w5
b.eq	ADDR  // b.none
ldp	x19, x15, [x9]
smaddl	x11, w3, w5, x13
sxtw	x2, w5
sbfiz	x16, x0, #2, #32
sub	w18, w18, w5
sxtw	x17, w0
lsl	x11, x11, #2
madd	x2, x2, x16, x19
add	x5, x15, x11
cmp	w18, #0x3
b.eq	ADDR  // b.none
b.gt	ADDR
cmp	w18, #0x1
b.eq	ADDR  // b.none
cmp	w18, #0x2
b.ne	ADDR  // b.any
ldr	q4, [x14, x12]
ldp	q3, q2, [x10, #16]
ldr	q1, [x10, #48]
cmp	w7, #0x0
b.le	ADDR
mov	v5.16b, v1.16b
mov	x0, x2
mov	v6.16b, v2.16b
sbfiz	x8, x8, #2, #32
mov	v7.16b, v3.16b
add	x7, x2, w7, sxtw #2
mov	v8.16b, v4.16b
ldp	q16, q13, [x4]
ldp	q12, q11, [x4, #32]
add	x4, x4, x8
ldr	s9, [x0, x16]
ld1r	{v10.4s}, [x0]
add	x0, x0, #0x4
fmla	v8.4s, v16.4s, v9.s[0]
fmla	v4.4s, v10.4s, v16.4s
fmla	v3.4s, v10.4s, v13.4s
fmla	v7.4s, v13.4s, v9.s[0]
fmla	v2.4s, v10.4s, v12.4s
fmla	v6.4s, v12.4s, v9.s[0]
fmla	v1.4s, v10.4s, v11.4s
fmla	v5.4s, v11.4s, v9.s[0]
cmp	x0, x7
b.ne	ADDR  // b.any
fmax	v4.4s, v4.4s, v0.4s
sbfiz	x3, x3, #2, #32
fmax	v3.4s, v3.4s, v0.4s
add	x0, x5, x3
fmax	v2.4s, v2.4s, v0.4s
fmax	v1.4s, v1.4s, v0.4s
fmax	v8.4s, v8.4s, v0.4s
str	q4, [x15, x11]
fmax	v7.4s, v7.4s, v0.4s
stp	q3, q2, [x5, #16]
fmax	v6.4s, v6.4s, v0.4s
str	q1, [x5, #48]
fmax	v5.4s, v5.4s, v0.4s
str	q8, [x5, x3]
stp	q7, q6, [x0, #16]
str	q5, [x0, #48]
add	w6, w6, #0x10
add	x13, x13, #0x10
cmp	w1, w6
b.gt	ADDR
ldp	x19, x20, [sp, #16]
ldp	x21, x22, [sp, #32]
ldp	x23, x24, [sp, #48]
ldp	x25, x26, [sp, #64]
ldp	x27, x28, [sp, #80]
ldp	d8, d9, [sp, #96]
ldp	d10, d11, [sp, #112]
ldp	d12, d13, [sp, #128]
ldp	x29, x30, [sp], #176
ret
mov	v16.16b, v10.16b
mov	v17.16b, v11.16b
mov	v18.16b, v12.16b
mov	v19.16b, v13.16b
mov	v20.16b, v10.16b
mov	v21.16b, v11.16b
mov	v22.16b, v12.16b
mov	v23.16b, v13.16b
mov	v24.16b, v10.16b
mov	v25.16b, v11.16b
mov	v26.16b, v12.16b
mov	v27.16b, v13.16b
mov	v28.16b, v10.16b
mov	v29.16b, v11.16b
mov	v30.16b, v12.16b
mov	v31.16b, v13.16b
b	ADDR
cmp	w18, #0x4
b.ne	ADDR  // b.any
ldr	q4, [x14, x12]
smull	x0, w0, w25
ldp	q3, q2, [x10, #16]
lsl	x17, x17, #3
ldr	q1, [x10, #48]
cmp	w7, #0x0
b.le	ADDR
mov	v5.16b, v1.16b
sbfiz	x8, x8, #2, #32
mov	v6.16b, v2.16b
add	x7, x2, w7, sxtw #2
mov	v7.16b, v3.16b
mov	v8.16b, v4.16b
mov	v9.16b, v1.16b
mov	v10.16b, v2.16b
mov	v11.16b, v3.16b
mov	v12.16b, v4.16b
mov	v13.16b, v1.16b
mov	v16.16b, v2.16b
mov	v17.16b, v3.16b
mov	v18.16b, v4.16b
ldp	q23, q22, [x4]
ldp	q21, q19, [x4, #32]
add	x4, x4, x8
ldr	s25, [x2, x16]
ldr	s24, [x2, x17]
ldr	s20, [x2, x0]
fmla	v18.4s, v23.4s, v25.s[0]
ld1r	{v26.4s}, [x2]
fmla	v17.4s, v22.4s, v25.s[0]
add	x2, x2, #0x4
fmla	v16.4s, v21.4s, v25.s[0]
fmla	v4.4s, v26.4s, v23.4s
fmla	v3.4s, v26.4s, v22.4s
fmla	v2.4s, v26.4s, v21.4s
fmla	v1.4s, v26.4s, v19.4s
fmla	v13.4s, v19.4s, v25.s[0]
fmla	v12.4s, v23.4s, v24.s[0]
fmla	v11.4s, v22.4s, v24.s[0]
fmla	v10.4s, v21.4s, v24.s[0]
fmla	v9.4s, v19.4s, v24.s[0]
fmla	v8.4s, v23.4s, v20.s[0]
fmla	v7.4s, v22.4s, v20.s[0]
fmla	v6.4s, v21.4s, v20.s[0]
fmla	v5.4s, v19.4s, v20.s[0]
cmp	x2, x7
b.ne	ADDR  // b.any
fmax	v4.4s, v4.4s, v0.4s
sbfiz	x0, x3, #2, #32
fmax	v3.4s, v3.4s, v0.4s
mov	x4, #0x4                   	// #4
fmax	v2.4s, v2.4s, v0.4s
add	x2, x5, x0
fmax	v1.4s, v1.4s, v0.4s
smaddl	x4, w3, w28, x4
fmax	v18.4s, v18.4s, v0.4s
str	q4, [x15, x11]
add	x7, x5, w3, sxtw #3
fmax	v17.4s, v17.4s, v0.4s
stp	q3, q2, [x5, #16]
add	x10, x2, x0
fmax	v16.4s, v16.4s, v0.4s
str	q1, [x5, #48]
mov	x11, #0x30                  	// #48
fmax	v13.4s, v13.4s, v0.4s
str	q18, [x5, x0]
lsl	x4, x4, #2
fmax	v12.4s, v12.4s, v0.4s
stp	q17, q16, [x2, #16]
smaddl	x3, w3, w25, x11
fmax	v11.4s, v11.4s, v0.4s
str	q13, [x2, #48]
add	x8, x5, x4
fmax	v10.4s, v10.4s, v0.4s
str	q12, [x2, x0]
fmax	v9.4s, v9.4s, v0.4s
fmax	v8.4s, v8.4s, v0.4s
fmax	v7.4s, v7.4s, v0.4s
stp	q11, q10, [x7, #16]
fmax	v6.4s, v6.4s, v0.4s
str	q9, [x7, #48]
fmax	v5.4s, v5.4s, v0.4s
str	q8, [x10, x0]
str	q7, [x5, x4]
str	q6, [x8, #16]
str	q5, [x5, x3]
b	ADDR
ldr	q4, [x14, x12]
lsl	x17, x17, #3
ldp	q3, q2, [x10, #16]
ldr	q1, [x10, #48]
cmp	w7, #0x0
b.le	ADDR
mov	v5.16b, v1.16b
mov	x0, x2
mov	v6.16b, v2.16b
sbfiz	x8, x8, #2, #32
mov	v7.16b, v3.16b
add	x7, x2, w7, sxtw #2
mov	v8.16b, v4.16b
mov	v9.16b, v1.16b
mov	v10.16b, v2.16b
mov	v11.16b, v3.16b
mov	v12.16b, v4.16b
ldp	q21, q20, [x4]
ldp	q19, q18, [x4, #32]
add	x4, x4, x8
ldr	s16, [x0, x16]
ldr	s13, [x0, x17]
ld1r	{v17.4s}, [x0]
add	x0, x0, #0x4
fmla	v12.4s, v21.4s, v16.s[0]
fmla	v11.4s, v20.4s, v16.s[0]
fmla	v4.4s, v17.4s, v21.4s
fmla	v3.4s, v17.4s, v20.4s
fmla	v2.4s, v17.4s, v19.4s
fmla	v1.4s, v17.4s, v18.4s
fmla	v10.4s, v19.4s, v16.s[0]
fmla	v9.4s, v18.4s, v16.s[0]
fmla	v8.4s, v21.4s, v13.s[0]
fmla	v7.4s, v20.4s, v13.s[0]
fmla	v6.4s, v19.4s, v13.s[0]
fmla	v5.4s, v18.4s, v13.s[0]
cmp	x0, x7
b.ne	ADDR  // b.any
fmax	v4.4s, v4.4s, v0.4s
sbfiz	x2, x3, #2, #32
fmax	v3.4s, v3.4s, v0.4s
add	x0, x5, x2
fmax	v2.4s, v2.4s, v0.4s
add	x3, x5, w3, sxtw #3
fmax	v1.4s, v1.4s, v0.4s
fmax	v12.4s, v12.4s, v0.4s
str	q4, [x15, x11]
fmax	v11.4s, v11.4s, v0.4s
stp	q3, q2, [x5, #16]
fmax	v10.4s, v10.4s, v0.4s
str	q1, [x5, #48]
fmax	v9.4s, v9.4s, v0.4s
str	q12, [x5, x2]
fmax	v8.4s, v8.4s, v0.4s
stp	q11, q10, [x0, #16]
fmax	v7.4s, v7.4s, v0.4s
str	q9, [x0, #48]
fmax	v6.4s, v6.4s, v0.4s
str	q8, [x0, x2]
fmax	v5.4s, v5.4s, v0.4s
stp	q7, q6, [x3, #16]
str	q5, [x3, #48]
b	ADDR
ldr	q4, [x14, x12]
ldp	q3, q2, [x10, #16]
ldr	q1, [x10, #48]
cmp	w7, #0x0
b.le	ADDR
mov	x0, x2
sbfiz	x8, x8, #2, #32
add	x7, x2, w7, sxtw #2
ldp	q9, q8, [x4]
ldp	q7, q6, [x4, #32]
add	x4, x4, x8
ld1r	{v5.4s}, [x0], #4
fmla	v4.4s, v5.4s, v9.4s
fmla	v3.4s, v5.4s, v8.4s
fmla	v2.4s, v5.4s, v7.4s
fmla	v1.4s, v5.4s, v6.4s
cmp	x0, x7
b.ne	ADDR  // b.any
fmax	v4.4s, v4.4s, v0.4s
fmax	v3.4s, v3.4s, v0.4s
fmax	v2.4s, v2.4s, v0.4s
fmax	v1.4s, v1.4s, v0.4s
str	q4, [x15, x11]
stp	q3, q2, [x5, #16]
str	q1, [x5, #48]
b	ADDR
mov	v4.16b, v0.16b
mov	v5.16b, v1.16b
mov	v6.16b, v2.16b
mov	v7.16b, v3.16b
b	ADDR
mov	v4.16b, v0.16b
mov	v5.16b, v1.16b
mov	v6.16b, v2.16b
mov	v7.16b, v3.16b
mov	v8.16b, v0.16b
mov	v9.16b, v1.16b
mov	v10.16b, v2.16b
mov	v11.16b, v3.16b
mov	v12.16b, v0.16b
mov	v13.16b, v1.16b
mov	v16.16b, v2.16b
mov	v17.16b, v3.16b
b	ADDR
mov	v4.16b, v0.16b
mov	v5.16b, v1.16b
mov	v6.16b, v2.16b
mov	v7.16b, v3.16b
mov	v8.16b, v0.16b
mov	v9.16b, v1.16b
mov	v10.16b, v2.16b
mov	v11.16b, v3.16b
b	ADDR
ldp	x19, x20, [sp, #16]
b	ADDR
mov	v5.16b, v1.16b
mov	v6.16b, v2.16b
mov	v7.16b, v3.16b
mov	v8.16b, v4.16b
b	ADDR
mov	v5.16b, v1.16b
mov	v6.16b, v2.16b
mov	v7.16b, v3.16b
mov	v8.16b, v4.16b
mov	v9.16b, v1.16b
mov	v10.16b, v2.16b
mov	v11.16b, v3.16b
mov	v12.16b, v4.16b
b	ADDR
mov	v5.16b, v1.16b
mov	v6.16b, v2.16b
mov	v7.16b, v3.16b
mov	v8.16b, v4.16b
mov	v9.16b, v1.16b
mov	v10.16b, v2.16b
mov	v11.16b, v3.16b
mov	v12.16b, v4.16b
mov	v13.16b, v1.16b
mov	v16.16b, v2.16b
mov	v17.16b, v3.16b
mov	v18.16b, v4.16b
b	ADDR
