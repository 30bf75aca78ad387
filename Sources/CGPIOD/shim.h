#ifndef SOLEUS_CGPIOD_SHIM_H
#define SOLEUS_CGPIOD_SHIM_H
#include <gpiod.h>

/// 1 when the libgpiod v1 (1.6.x) header is in use; only the v1 header defines this macro.
#ifdef GPIOD_LINE_BULK_MAX_LINES
static const int soleus_gpiod_api_v1 = 1;
#else
static const int soleus_gpiod_api_v1 = 0;
#endif
#endif
