/* real.c - resolve every libc symbol in EBT_REAL_LIST once, with dlsym(RTLD_NEXT). */
#include "real.h"

#include <dlfcn.h>

struct ebt_real_table ebt_real;

void ebt_real_resolve_all(void)
{
#define EBT_REAL_RESOLVE(ret, name, params)                                                        \
    if (!ebt_real.name)                                                                            \
        *(void **)&ebt_real.name = dlsym(RTLD_NEXT, #name);
    EBT_REAL_LIST(EBT_REAL_RESOLVE)
#undef EBT_REAL_RESOLVE
}
