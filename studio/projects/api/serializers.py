from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers

from ..models import Membership, Project, Role
from ..permissions import role_of


class ProjectSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField(help_text="Your role in the project")

    class Meta:
        model = Project
        fields = ["id", "name", "description", "created_at", "role"]
        read_only_fields = ["id", "created_at", "role"]

    def get_role(self, project) -> str | None:
        return role_of(self.context["request"].user, project)


class MembershipSerializer(serializers.ModelSerializer):
    # An owner names a user by the exact user name (as on GitHub or GitLab; there is no search); a name that is
    # no user and one of a deactivated account get the same answer.
    username = serializers.SlugRelatedField(source="user", slug_field="username",
                                            queryset=get_user_model().objects.filter(is_active=True),
                                            error_messages={"does_not_exist": "there is no active user named "
                                                                              "{value!r}"},
                                            help_text="The member's exact user name")
    role = serializers.ChoiceField(choices=Role.choices)

    class Meta:
        model = Membership
        fields = ["id", "username", "role"]
        read_only_fields = ["id"]


class MembershipUpdateSerializer(serializers.ModelSerializer):
    role = serializers.ChoiceField(choices=Role.choices)

    class Meta:
        model = Membership
        fields = ["id", "role"]
        read_only_fields = ["id"]
