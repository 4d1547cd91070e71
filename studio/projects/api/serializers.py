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
    username = serializers.SlugRelatedField(source="user", slug_field="username",
                                            queryset=get_user_model().objects.all(),
                                            help_text="The member's user name")
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
