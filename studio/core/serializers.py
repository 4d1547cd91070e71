"""Serializer helpers shared by the apps."""
from __future__ import annotations

from rest_framework import serializers


class StrictQuerySerializer(serializers.Serializer):
    """The query parameters of an endpoint: one it does not declare answers 400 naming it and the ones it takes.
    Ignored, ?count=500 on an endpoint that takes n answered its default of 5, as if that were what was asked."""

    def to_internal_value(self, data):
        unknown = sorted(set(data) - set(self.fields) - {"format"})  # (format: DRF's own ?format=json)
        if unknown:
            takes = ", ".join(self.fields) or "no parameters"
            raise serializers.ValidationError({name: [f"unknown parameter; this endpoint takes {takes}"]
                                               for name in unknown}, code="unknown")
        return super().to_internal_value(data)


class IdentityFieldsMixin:
    """For a ModelSerializer: the fields in `identity_fields` (which project a thing belongs to, a deployment's
    name) are set at creation and never change. An update that sends one with another value is refused with
    400; the same value (a client sending the whole object back) passes. The refusal never looks the new value
    up, so it says nothing about whether another project exists."""

    identity_fields: tuple[str, ...] = ()

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list):
            for name in self.identity_fields:
                if name in fields:  # a serializer of one change (a rename) need not declare them
                    fields[name].read_only = True
        return fields

    def validate(self, data):
        data = super().validate(data)
        if self.instance is None or isinstance(self.instance, list):
            return data
        sent = getattr(self, "initial_data", None) or {}
        changed = {name: [f"{name} cannot change after creation"] for name in self.identity_fields
                   if name in sent and not _same(sent[name], _current(self.instance, name))}
        if changed:
            raise serializers.ValidationError(changed, code="read_only")
        return data


def _current(instance, name: str):
    field = instance._meta.get_field(name)
    return getattr(instance, field.attname)  # a foreign key's id, not the related object


def _same(sent, current) -> bool:
    if isinstance(sent, (dict, list)):
        return False
    return str(sent) == str(current)
