/* mdserve.h - job-wide metadata answers for paths under inputs (mdserve.c). */
#ifndef EBTD_MDSERVE_H
#define EBTD_MDSERVE_H

#include <stdint.h>

struct ebtd;

/* EBT_OP_MDC: struct ebt_proto_mdc_req, path NUL -> struct ebt_proto_mdc_reply and the answer's
 * bytes. -EXDEV: not under an input; -EMSGSIZE: the answer does not fit a reply (the client
 * then asks the PFS itself). */
int ebtd_mdc_op(struct ebtd *d, const char *payload, uint32_t len, char *reply, uint32_t cap,
                uint32_t *replylen);
/* Register the peer handler (before the mesh starts). */
void ebtd_mdserve_register(void);

#endif
