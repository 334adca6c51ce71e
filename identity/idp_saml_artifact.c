/* The HTTP-Artifact binding of the saml provider: SOAP ArtifactResolve through httpc. */
#include <stdlib.h>

#include "idp_saml_internal.h"

void idp_saml_artifact_free(struct idp_saml *s)
{
    (void)s;
}
