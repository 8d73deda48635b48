"""
Django's loaddata, with errors a maintainer can act on.

The loading itself is Django's: the same transaction, the same deserialisers (explaining
ones, see baltmet.serializers), objects validated by baltmet.fixture_validation. This
command adds four things: a failure ends with one clear message and exit status 1 instead
of a traceback; errors found after the files were read (references to objects that do not
exist) name the fixture files; an object that appears twice in one load is an error
rather than a silent overwrite; and the search vectors of the objects loaded are written at
the end of the load, in its transaction, one UPDATE per model (search_index.vectors_deferred).
"""

from django.core.management.base import CommandError
from django.core.management.commands import loaddata

from baltmet.fixture_validation import InvalidFixtureObject, describe
from baltmet.search_index import vectors_deferred


class Command(loaddata.Command):
    help = loaddata.Command.help + " Invalid objects stop the load; nothing of it is written."

    def handle(self, *fixture_labels, **options):
        self._fixture_files = []
        self._seen = set()
        try:
            super().handle(*fixture_labels, **options)
        except CommandError:
            raise
        except Exception as exc:
            message = str(exc) or type(exc).__name__
            cause = exc.__cause__
            if cause is not None and str(cause) not in message:
                # The deserialisers raise an empty error "from" the parser's when a file does not parse.
                message = f"{message.rstrip()} the file cannot be read: {cause}"
            if not any(path in message for path in self._fixture_files):
                message = f"Problem installing fixture(s) {', '.join(self._fixture_files)}: {message}"
            raise CommandError(f"{message}\nNothing was loaded: the whole load was rolled back.") from exc

    def loaddata(self, fixture_labels):
        # Inside Django's transaction: the loaded rows' search vectors, one UPDATE per model.
        with vectors_deferred(self.using):
            super().loaddata(fixture_labels)

    def load_label(self, fixture_label):
        self._current_files = [path for path, _, _ in self.find_fixtures(fixture_label)]
        self._fixture_files.extend(self._current_files)
        super().load_label(fixture_label)

    def save_obj(self, obj):
        identity = self._identity(obj.object)
        if identity is not None:
            if identity in self._seen:
                raise InvalidFixtureObject(
                    f"{describe(obj.object)} appears twice in this load; each object may appear once."
                )
            self._seen.add(identity)
        return super().save_obj(obj)

    @staticmethod
    def _identity(instance):
        natural_key = getattr(instance, "natural_key", None)
        if natural_key is None:
            return None
        try:
            return (instance._meta.label_lower, tuple(natural_key()))
        except Exception:
            return None
