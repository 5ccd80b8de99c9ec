"""Request shapes several domains share: a PATCH body, an array in the query string, a CSV import."""
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validates_schema
from marshmallow.utils import ensure_text_type


class ChangesSchema(Schema):
    """A PATCH body: the fields to change. A missing or empty body is a client's mistake, not a no-op."""

    @validates_schema
    def _changes_something(self, data, **kwargs):
        if not data:
            raise ValidationError(str(_l("Send at least one field to change.")))


class ImportArgsSchema(Schema):
    dry_run = fields.Boolean(load_default=False)


class ImportFileSchema(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class QueryList(fields.List):
    """An array in the query string, in either spelling: `by=site,month` or `by=site&by=month`.

    webargs hands a List every repetition of the parameter; each is split at commas. An empty value
    (`by=`, `by=site,`) is a 422, never silently nothing. Documented as an exploded form array.
    """

    def _deserialize(self, value, attr, data, **kwargs):
        values = value if isinstance(value, (list, tuple)) else [value]
        items = [item.strip() for text in values for item in str(text).split(",")]
        if not items or any(not item for item in items):
            raise ValidationError(str(_l("Give one or more values, separated by commas.")))
        return super()._deserialize(items, attr, data, **kwargs)


class JsonBoolean(fields.Boolean):
    """A boolean in a JSON body: `true` or `false` only (marshmallow's Boolean also takes 1, "yes", "on"...,
    which a query string needs but a JSON body never sends)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):  # not `in {True}`: 1 == True in Python
            raise self.make_error("invalid", input=value)
        return value


class CompiledDumpSchema(Schema):
    """A schema whose `dump` runs a plan compiled once from its fields: the same output as marshmallow's,
    several times faster for lists.

    marshmallow pays per field and per object for its generality (an accessor that tries `obj[key]`
    before `getattr`, `serialize` → `get_value` → `_serialize` for every field, a schema lookup per
    nested object). A page of 50 inspections is ~1,750 field dumps: most of the page's CPU. The plan reads
    each attribute with `getattr` (a mapping with `[]`), calls each field's own `_serialize` (so custom
    fields keep their formatting), turns plain str/int/float/bool fields into the builtins marshmallow
    calls, and compiles nested schemas the same way. What it does not cover — pre_dump hooks, post_dump
    hooks that want the collection or the original, `many` schemas, dump defaults, `attribute` paths with
    dots — makes the schema dump through marshmallow as before. tests/test_compiled_dump.py compares
    the two outputs.
    """

    def dump(self, obj, *, many: bool | None = None):
        plan = self.__dict__.get("_compiled_dump")
        if plan is None:
            plan = self.__dict__["_compiled_dump"] = compile_dump(self) or False
        if plan is False or (self.many if many is None else many):
            return super().dump(obj, many=many)
        return plan(obj)


def compile_dump(schema: Schema):
    """A function obj → dict equal to `schema.dump(obj)` (many=False), or None when the schema uses what
    the plan does not cover."""
    from marshmallow import missing
    from marshmallow.decorators import POST_DUMP, PRE_DUMP

    if schema.many or schema._hooks[PRE_DUMP]:
        return None
    post_dump = []
    for name, pass_collection, options in schema._hooks[POST_DUMP]:
        if pass_collection or options.get("pass_original"):
            return None
        post_dump.append(getattr(schema, name))
    steps = []
    for name, field in schema.dump_fields.items():
        attribute = field.attribute or name
        if "." in attribute or field.dump_default is not missing or not field._CHECK_ATTRIBUTE:
            return None
        convert = _converter(field)
        if convert is None:
            return None
        steps.append((field.data_key if field.data_key is not None else name, attribute, convert))
    dict_class = schema.dict_class

    def dump(obj):
        mapping = isinstance(obj, dict)
        result = dict_class()
        for key, attribute, convert in steps:
            value = obj.get(attribute, missing) if mapping else getattr(obj, attribute, missing)
            if value is missing:
                continue
            result[key] = None if value is None else convert(value)
        for hook in post_dump:
            result = hook(result, many=False)
        return result

    return dump


def _converter(field):
    """value (not None) → what `field._serialize` answers for it; None when the plan cannot dump it."""
    kind = type(field)
    # For these classes _serialize(None) is None and for anything else the builtin (marshmallow's own code).
    if kind is fields.String:
        # marshmallow's String._serialize is utils.ensure_text_type: str() for anything not text (the ids).
        return lambda value: value if type(value) is str else ensure_text_type(value)
    if kind in (fields.Integer, fields.Float) and not field.as_string:
        return lambda value: field._format_num(value)
    if kind is fields.Boolean:
        return lambda value: value if value is True or value is False else field._serialize(value, None, None)
    if kind is fields.Nested:
        if field.many or field.schema.many:
            return None
        compiled = []  # compiled at the first nested object: a schema may nest itself

        def nested(value):
            if not compiled:
                compiled.append(compile_dump(field.schema) or field.schema.dump)
            return compiled[0](value)

        return nested
    if kind is fields.List:
        inner = _converter(field.inner)
        if inner is None:
            return None
        return lambda value: [None if item is None else inner(item) for item in value]
    # Any other field (a custom one, a Dict, a DateTime): its own _serialize, as marshmallow would call it,
    # if it answers None for None (every field this app dumps does).
    if field._serialize(None, None, None) is not None:
        return None
    return lambda value: field._serialize(value, None, None)
