/* fake_mesh.h - in-process nodes behind mesh.h for unit tests of the md service. */
#ifndef EBT_FAKE_MESH_H
#define EBT_FAKE_MESH_H

#include "mesh.h"

#define FAKE_MAX_NODES 8
struct ebtd;
extern struct ebtd *fake_node[FAKE_MAX_NODES]; /* node i's daemon */
extern int fake_dead[FAKE_MAX_NODES];          /* calls to a dead node fail with -EHOSTDOWN */
extern unsigned long fake_calls[EBTD_P_MAX];   /* calls per peer op */

#endif
