#include <stddef.h>
#include <stdint.h>

/// The input callback libFuzzer calls (LLVMFuzzerTestOneInput's shape).
typedef int (*soleus_fuzz_callback)(const uint8_t *data, size_t size);

/// Runs libFuzzer's driver (LLVMFuzzerRunDriver, in libclang_rt.fuzzer) with the process's
/// arguments: what libFuzzer's own `main` would do.
int soleus_fuzz_main(int argc, char **argv, soleus_fuzz_callback callback);
