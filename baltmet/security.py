"""Content-Security-Policy by area: strict for the public site, looser only where CKEditor runs."""

from django.conf import settings
from csp.middleware import CSPMiddleware


class AreaCSPMiddleware(CSPMiddleware):
    """The public policy everywhere, widened for the admin and the editor's upload pages.

    CKEditor 4 writes inline event handlers and styles into its toolbar and editing frame,
    which a policy without 'unsafe-inline' would block; visitors' pages never need that.
    """

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only)
        if request.path_info.startswith(settings.CSP_EDITOR_PATH_PREFIXES):
            parts.update = {**(parts.update or {}), **settings.CSP_EDITOR_ADDITIONS}
            parts.replace = {**(parts.replace or {}), **settings.CSP_EDITOR_REPLACEMENTS}
        return parts
