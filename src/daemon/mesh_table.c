/* mesh_table.c - the peer handlers by operation code and their reply buffers (shared by the mesh
 * and the unit tests' in-process mesh). */
#include "mesh_priv.h"

#include <errno.h>
#include <stdlib.h>

static ebtd_peer_handler *mesh_handlers[EBTD_P_MAX];

void ebtd_mesh_handle(uint16_t op, ebtd_peer_handler *fn)
{
    if (op < EBTD_P_MAX)
        mesh_handlers[op] = fn;
}

void *ebtd_reply_alloc(struct ebtd_reply *r, size_t len)
{
    free(r->data);
    r->data = malloc(len ? len : 1);
    r->len = r->data ? len : 0;
    return r->data;
}

int mesh_table_dispatch(struct ebtd *d, int from, uint16_t op, const void *req, size_t len,
                        struct ebtd_reply *r)
{
    if (op >= EBTD_P_MAX || !mesh_handlers[op])
        return -EOPNOTSUPP;
    return mesh_handlers[op](d, from, req, len, r);
}
