"""Only verified raster images are stored, under generated names, by staff allowed to upload."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from PIL import Image, ImageFile

from baltmet import renditions
from baltmet.images import check_image
from news.models import Article
from tests.upload_files import busy_image_bytes, first_half, hostile_files, image_bytes, png, upload

TOKEN = "k" * 40
HOSTILE = sorted(hostile_files())


def stored_files(settings):
    root = settings.MEDIA_ROOT
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


@pytest.fixture
def editor_client(editor_client):
    """tests/conftest.py's editor, with the cookie the rich-text editor sets (its CSRF token)."""
    editor_client.cookies["ckCsrfToken"] = TOKEN
    return editor_client


def post_upload(client, file, token=TOKEN):
    return client.post("/ckeditor/upload/", {"upload": file, "ckCsrfToken": token})


def post_article_with_image(client, image):
    return client.post(
        "/admin/news/article/add/",
        {
            "title": "With image",
            "slug": "with-image",
            "status": "draft",
            "publish_at_0": "2024-01-01",
            "publish_at_1": "10:00:00",
            "image": image,
            "image_alt": "A lead image",
        },
    )


def test_editor_uploads_an_image_under_a_generated_name(editor_client, settings):
    response = post_upload(editor_client, png("../../My Holiday Photo.png"))
    assert response.status_code == 200
    assert response.json()["uploaded"] == "1"
    originals = [path for path in stored_files(settings) if "_thumb" not in path.name]
    assert len(originals) == 1
    stored = originals[0]
    assert stored.is_relative_to(settings.MEDIA_ROOT / "uploads")
    assert stored.suffix == ".png" and "Holiday" not in stored.name
    assert response.json()["url"].startswith("/media/uploads/")


@pytest.mark.parametrize("kind", HOSTILE)
def test_editor_upload_of_hostile_file_is_refused_and_nothing_stored(editor_client, settings, kind):
    response = post_upload(editor_client, hostile_files()[kind])
    assert response.status_code == 400
    assert response.json()["uploaded"] == 0
    assert response.json()["error"]["message"]
    assert stored_files(settings) == []


def test_upload_over_the_size_limit_is_refused(editor_client, settings):
    settings.MAX_UPLOAD_SIZE = 100
    response = post_upload(editor_client, png(size=(64, 64)))
    assert response.status_code == 400
    assert "at most 100" in response.json()["error"]["message"]
    assert stored_files(settings) == []


def test_upload_over_the_pixel_limit_is_refused(editor_client, settings):
    settings.MAX_IMAGE_PIXELS = 100 * 100
    response = post_upload(editor_client, png(size=(101, 100)))
    assert response.status_code == 400
    assert "pixels" in response.json()["error"]["message"]
    assert stored_files(settings) == []


def test_refusal_in_the_editor_dialog_is_a_callback_with_an_escaped_message(editor_client):
    response = editor_client.post(
        "/ckeditor/upload/?CKEditorFuncNum=3", {"upload": hostile_files()["svg"], "ckCsrfToken": TOKEN}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert body.startswith("<script>window.parent.CKEDITOR.tools.callFunction(3, '', \"")


def test_upload_without_the_editor_token_is_refused(editor_client, settings):
    assert post_upload(editor_client, png(), token="").status_code == 400
    assert post_upload(editor_client, png(), token="x" * 40).status_code == 400
    assert stored_files(settings) == []


def test_anonymous_upload_and_browse_are_sent_to_login(client, db, settings):
    client.cookies["ckCsrfToken"] = TOKEN
    response = post_upload(client, png())
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert client.get("/ckeditor/browse/").status_code == 302
    assert stored_files(settings) == []


def test_staff_without_the_upload_permission_are_refused(client, django_user_model, settings):
    bystander = django_user_model.objects.create_user("bystander", password="x", is_staff=True)
    client.force_login(bystander)
    client.cookies["ckCsrfToken"] = TOKEN
    assert post_upload(client, png()).status_code == 403
    assert client.get("/ckeditor/browse/").status_code == 403
    assert stored_files(settings) == []


def test_editor_can_browse_uploads(editor_client):
    assert editor_client.get("/ckeditor/browse/").status_code == 200


@pytest.mark.parametrize(
    "kind", ["svg", "html-named-jpg", "gif-html-polyglot", "jpeg-named-png", "decompression-bomb", "half-jpeg", "half-gif"]
)
def test_hostile_lead_image_is_refused_in_the_admin(editor_client, settings, kind):
    response = post_article_with_image(editor_client, hostile_files()[kind])
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["image"]
    assert not Article.objects.exists()
    assert stored_files(settings) == []


def _jpeg_with_a_second_picture():
    # What Pillow calls MPO: a phone's or camera's photo with a preview or gain map after it.
    first = Image.new("RGB", (120, 80), "navy")
    buffer = io.BytesIO()
    first.save(buffer, "MPO", save_all=True, append_images=[first.resize((60, 40))])
    with Image.open(io.BytesIO(buffer.getvalue())) as opened:
        assert opened.format == "MPO"
    return upload("IMG_0001.jpg", buffer.getvalue(), "image/jpeg")


def test_a_jpeg_with_a_second_picture_is_accepted_as_the_jpeg_it_is(editor_client):
    response = post_article_with_image(editor_client, _jpeg_with_a_second_picture())
    assert response.status_code == 302
    assert Article.objects.get().image.name.endswith(".jpg")


def _animated_gif():
    frames = [Image.new("RGB", (40, 30), colour) for colour in ("red", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return upload("anim.gif", buffer.getvalue(), "image/gif")


@pytest.mark.parametrize("make_upload", [_jpeg_with_a_second_picture, _animated_gif], ids=["mpo", "animated-gif"])
def test_an_image_of_several_pictures_uploaded_in_the_editor_has_its_thumbnail(editor_client, settings, make_upload):
    # django-ckeditor took them for animations and made no thumbnail, which the browse dialog
    # then showed broken (reviews r27j, r27k).
    response = post_upload(editor_client, make_upload())
    assert response.status_code == 200
    stored = [path.name for path in stored_files(settings)]
    [original] = [name for name in stored if "_thumb" not in name]
    stem, extension = original.rsplit(".", 1)
    assert f"{stem}_thumb.{extension}" in stored


def test_an_editor_upload_on_a_storage_that_closes_what_it_saved_is_stored(editor_client, settings, monkeypatch):
    # Object storages close the upload once saved (django-ckeditor reopens the stored file for
    # its thumbnail); reading the upload again afterwards was a 500 (review r27k).
    save = FileSystemStorage._save

    def closing_save(self, name, content):
        saved = save(self, name, content)
        content.close()
        return saved

    monkeypatch.setattr(FileSystemStorage, "_save", closing_save)
    for make_upload in (lambda: png("plain.png"), _jpeg_with_a_second_picture):
        assert post_upload(editor_client, make_upload()).status_code == 200
    assert len([path for path in stored_files(settings) if "_thumb" in path.name]) == 2


def _jpeg_with_a_long_exif_block():
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "navy").save(buffer, "JPEG", exif=b"Exif\x00\x00" + b"\x00" * 4000)
    return buffer.getvalue()


@pytest.mark.parametrize("name, data", [
    ("half.jpg", lambda: first_half(busy_image_bytes("JPEG"))),
    ("half.gif", lambda: first_half(busy_image_bytes("GIF"))),
    ("half.png", lambda: first_half(busy_image_bytes("PNG"))),
    # Pillow reads a WebP whole, and a JPEG's headers, as it opens them (review r27m).
    ("half.webp", lambda: first_half(busy_image_bytes("WEBP"))),
    ("cut-in-its-exif.jpg", lambda: _jpeg_with_a_long_exif_block()[:2000]),
], ids=["jpeg", "gif", "png", "webp", "jpeg-headers"])
def test_an_image_of_each_format_cut_short_is_refused_as_damaged(name, data):
    with pytest.raises(ValidationError) as refused:
        check_image(upload(name, data()))
    assert refused.value.code == "damaged_image", refused.value.messages
    assert "damaged or incomplete" in refused.value.messages[0]


def test_an_animated_gif_cut_short_in_its_second_frame_is_refused_as_damaged(editor_client, settings):
    # Its first frame decodes; Pillow raised reading the second's headers, in django-ckeditor's
    # upload, a 500 (review r27l).
    frames = [Image.new("RGB", (40, 30), colour) for colour in ("red", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    data = buffer.getvalue()
    second = data.rindex(b"\x00!\xf9") + 1  # the second frame's graphic control extension
    refused = 0
    for cut in range(second + 1, second + 31):
        piece = upload("cut.gif", data[:cut], "image/gif")
        try:
            check_image(piece)
        except ValidationError as error:
            assert error.code == "damaged_image", cut
            refused += 1
            assert post_upload(editor_client, piece).status_code == 400
        else:  # cut where the rest reads as a GIF of one frame
            assert post_upload(editor_client, piece).status_code == 200
    assert refused >= 20


def test_running_out_of_memory_while_checking_an_image_is_not_called_a_damaged_file(monkeypatch):
    def load(self):
        raise MemoryError

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    with pytest.raises(MemoryError):
        check_image(upload("whole.jpg", busy_image_bytes("JPEG")))


def test_valid_lead_image_is_stored_under_a_generated_name(editor_client):
    response = post_article_with_image(editor_client, upload("Käse & <b>.jpg", image_bytes("JPEG"), "image/jpeg"))
    assert response.status_code == 302
    name = Article.objects.get().image.name
    assert name.startswith("news/") and name.endswith(".jpg") and "Käse" not in name


def test_saving_an_article_again_does_not_reread_its_stored_image(editor_client, monkeypatch):
    assert post_article_with_image(editor_client, png("first.png")).status_code == 302
    article = Article.objects.get()
    opened = []
    monkeypatch.setattr(FileSystemStorage, "open", lambda self, name, mode="rb": opened.append(name))
    article.title = "Retitled"
    article.full_clean()
    assert opened == []


def test_an_upload_is_decoded_once_and_never_over_the_pixel_limit(editor_client, monkeypatch, settings):
    # The check decodes the upload (half a JPEG passes verify()), once: not again on a later
    # save, and not at all where the pixels exceed the limit, which the header tells.
    decoded = []
    load = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda image: decoded.append(image.size) or load(image))
    monkeypatch.setattr(renditions, "make_every_width", lambda image: None)  # the renditions decode it too
    assert post_article_with_image(editor_client, upload("photo.jpg", busy_image_bytes("JPEG"), "image/jpeg")).status_code == 302
    assert decoded == [(64, 48)]
    Article.objects.get().full_clean()
    assert decoded == [(64, 48)]

    settings.MAX_IMAGE_PIXELS = 64 * 47
    with pytest.raises(ValidationError, match="at most 3,008 pixels"):
        check_image(upload("photo.jpg", busy_image_bytes("JPEG"), "image/jpeg"))
    assert decoded == [(64, 48)]
