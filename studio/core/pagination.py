from rest_framework.pagination import LimitOffsetPagination


class Pagination(LimitOffsetPagination):
    """?limit= (at most 1000) and ?offset=; out-of-range values are clamped, never passed to the database."""

    default_limit = 100
    max_limit = 1000

    def get_offset(self, request):
        return min(super().get_offset(request), 2 ** 62)
