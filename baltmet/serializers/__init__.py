"""
Fixture formats with error messages that name the object and the field.

Registered over Django's own "json" and "yaml" through SERIALIZATION_MODULES; serialising
is unchanged, deserialising explains what is wrong where.
"""
