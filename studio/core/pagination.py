from rest_framework.pagination import LimitOffsetPagination

from .errors import ApiError
from .parsers import whole_number

MAX_OFFSET = 10 ** 15  # far past any table here, and inside a 64-bit integer, which the databases' OFFSET takes


def paging_numbers(request, bounds: dict[str, tuple[int, int, int]]) -> dict[str, int]:
    """Each query parameter of `bounds` (name -> (default, lowest, highest)) as an int, the default when it is absent
    or empty. One that is not a whole number in its range (negative, "abc", over the cap) answers 400 naming it,
    every such parameter at once: a paging parameter that fell back to its default silently answered a page the
    caller did not ask for (?offset=-5 listed the first page)."""
    values, errors = {}, []
    for name, (default, low, high) in bounds.items():
        raw = request.query_params.get(name, "")
        if raw == "":
            values[name] = default
        elif whole_number(raw) and len(raw) <= len(str(high)) and low <= int(raw) <= high:
            values[name] = int(raw)
        else:
            errors.append({"path": name, "code": "invalid", "message": f"expected a whole number from {low:,} to "
                                                                       f"{high:,}, got {raw[:40]!r}"})
    if errors:
        raise ApiError(400, "invalid", errors)
    return values


class Pagination(LimitOffsetPagination):
    """?limit= (1 to 1000, default 100) and ?offset= (0 to MAX_OFFSET); anything else answers 400 naming the
    parameter (paging_numbers)."""

    default_limit = 100
    max_limit = 1000

    def paginate_queryset(self, queryset, request, view=None):
        self.paging = paging_numbers(request, {"limit": (self.default_limit, 1, self.max_limit),
                                               "offset": (0, 0, MAX_OFFSET)})
        return super().paginate_queryset(queryset, request, view)

    def get_limit(self, request):
        return self.paging["limit"]

    def get_offset(self, request):
        return self.paging["offset"]
