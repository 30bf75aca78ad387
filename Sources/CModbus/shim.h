#ifndef SOLEUS_CMODBUS_SHIM_H
#define SOLEUS_CMODBUS_SHIM_H
#include <modbus.h>
#include <errno.h>

// Swift does not import libmodbus's EMBX* error macros: re-export them as constants.
static const int soleus_EMBXILFUN = EMBXILFUN;
static const int soleus_EMBXILADD = EMBXILADD;
static const int soleus_EMBXILVAL = EMBXILVAL;
static const int soleus_EMBXSFAIL = EMBXSFAIL;
static const int soleus_EMBXACK = EMBXACK;
static const int soleus_EMBXSBUSY = EMBXSBUSY;
static const int soleus_EMBXNACK = EMBXNACK;
static const int soleus_EMBXMEMPAR = EMBXMEMPAR;
static const int soleus_EMBXGPATH = EMBXGPATH;
static const int soleus_EMBXGTAR = EMBXGTAR;
static const int soleus_EMBBADCRC = EMBBADCRC;
static const int soleus_EMBBADDATA = EMBBADDATA;
static const int soleus_EMBBADEXC = EMBBADEXC;
static const int soleus_EMBMDATA = EMBMDATA;
static const int soleus_EMBBADSLAVE = EMBBADSLAVE;
#endif
