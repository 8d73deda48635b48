"""
The rich-text editor's upload and browse endpoints, guarded.

django-ckeditor's own views check only is_staff and accept whatever Pillow half-opens;
these wrap them so that only staff with the upload permission reach them, and only images
that pass baltmet.images.check_image are stored (under generated names, see
CKEDITOR_FILENAME_GENERATOR).
"""

import json

from ckeditor_uploader import views as ckeditor_views
from ckeditor_uploader.backends import pillow_backend
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from PIL import Image

from baltmet.images import check_image

UPLOAD_PERMISSION = "news.upload_image"


def _refusal(request, message):
    """An error in the form the editor shows: a callback for its dialog, JSON for drag and drop."""
    func_num = request.GET.get("CKEditorFuncNum", "")
    if func_num.isdigit():
        # json.dumps makes a safe JavaScript string literal; "</" cannot end the script early.
        text = json.dumps(message).replace("</", "<\\/")
        return HttpResponse(
            f"<script>window.parent.CKEDITOR.tools.callFunction({func_num}, '', {text});</script>",
            status=400,
        )
    return JsonResponse({"uploaded": 0, "error": {"message": message}}, status=400)


def _editor_token_matches(request):
    """CKEditor 4's own CSRF defence (double submit): it sets a random ckCsrfToken cookie and
    posts the same value with every upload; another site can neither read nor set it."""
    posted = request.POST.get("ckCsrfToken", "")
    return len(posted) >= 32 and constant_time_compare(posted, request.COOKIES.get("ckCsrfToken", ""))


# CKEditor 4 cannot send Django's CSRF token with its uploads, so Django's check is replaced
# by the editor's own, below; the session cookie's SameSite=Lax is a second line.
@csrf_exempt
@staff_member_required
@permission_required(UPLOAD_PERMISSION, raise_exception=True)
@require_POST
def upload(request):
    if not _editor_token_matches(request):
        return _refusal(request, "The upload was not sent by this site's editor; reload the page and try again.")
    uploaded = request.FILES.get("upload")
    if uploaded is None:
        return _refusal(request, "No file was sent.")
    try:
        check_image(uploaded)
    except ValidationError as error:
        return _refusal(request, " ".join(error.messages))
    return ckeditor_views.upload(request)


@never_cache
@staff_member_required
@permission_required(UPLOAD_PERMISSION, raise_exception=True)
def browse(request):
    return ckeditor_views.browse(request)


class PillowBackend(pillow_backend.PillowBackend):
    """django-ckeditor's (CKEDITOR_IMAGE_BACKEND), with a thumbnail for every image. It makes
    none for what Pillow calls animated: an animated GIF or WebP, and a JPEG carrying a second
    picture (a phone's gain map, a camera's preview: Pillow's MPO, accepted as the JPEG it is),
    and the browse dialog showed a broken picture for them (reviews r27j, r27k; for a WebP,
    still or not, django-ckeditor's dialog shows a file icon whatever it has). The thumbnail is
    of the first picture, made as django-ckeditor makes its others."""

    def save_as(self, filepath):
        skipped = False
        if self.is_image:
            with Image.open(self.file_object) as image:
                skipped = getattr(image, "is_animated", False)
            self.file_object.seek(0)
        saved = super().save_as(filepath)
        if skipped:
            # create_thumbnail() opens the stored file where storing closed the upload.
            self.create_thumbnail(self.file_object, saved)
        return saved
