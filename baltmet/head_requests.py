"""HEAD answered without a body, by the WSGI and ASGI applications.

Django answers a HEAD as it answers a GET, body included, and leaves dropping the body to the
server (its own development server and test client do). gunicorn drops it too, but logs a
warning for each such response ("WSGI app sent body bytes on a no-body response"): a load
balancer probing /healthz with HEAD every few seconds filled the log with them (review r30b).
The headers stay the GET's, Content-Length included, as HTTP asks of a HEAD. The same for
ASGI (baltmet.asgi), whose servers drop and warn alike (gunicorn's ASGI worker: review r30d).
"""


def without_body_on_head(application):
    """The WSGI `application`, answering HEAD requests with an empty body."""

    def application_without_body_on_head(environ, start_response):
        result = application(environ, start_response)
        if environ.get("REQUEST_METHOD") != "HEAD":
            return result
        return _EmptyClosing(result)

    return application_without_body_on_head


class _EmptyClosing:
    """No body; closing it closes the application's, whose close() sends Django's
    request_finished (which returns the request's database connection) and closes a file."""

    def __init__(self, result):
        self._result = result

    def __iter__(self):
        return iter(())

    def close(self):
        close = getattr(self._result, "close", None)
        if close is not None:
            close()


def without_body_on_head_asgi(application):
    """The ASGI `application`, answering HEAD requests with empty body messages."""

    async def application_without_body_on_head(scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "HEAD":
            return await application(scope, receive, send)

        async def send_without_body(message):
            if message["type"] == "http.response.body" and message.get("body"):
                message = {**message, "body": b""}
            await send(message)

        return await application(scope, receive, send_without_body)

    return application_without_body_on_head
