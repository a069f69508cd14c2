/* Build configuration of the runtime. This copy (the source tree's) sets nothing: the kernels
 * follow the compiler (SSE2/AVX2 on x86, plain C99 elsewhere). `lowbit export` writes each
 * export's own copy for its target, e.g. LOWBIT_PORTABLE for --target portable. */
#ifndef LOWBIT_CONFIG_H_
#define LOWBIT_CONFIG_H_

#endif /* LOWBIT_CONFIG_H_ */
