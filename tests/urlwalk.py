"""Walks the URL conf: every pattern with its full route and its namespaced name.

Shared by the security tests (anonymous visitors) and the permission matrix (every role).
"""

import re

from django.urls import URLPattern, URLResolver, get_resolver


def iter_patterns(resolver=None, prefix="", namespace=None):
    """Yields (route, name, pattern) for every URL pattern; name is None for unnamed patterns."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            ns = pattern.namespace or namespace
            if ns and namespace and pattern.namespace:
                ns = f"{namespace}:{pattern.namespace}"
            yield from iter_patterns(pattern, prefix + str(pattern.pattern), ns)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield prefix + str(pattern.pattern), name, pattern


def pattern_key(route, name):
    """How a pattern is known in tables: its name, or its route when it has none."""
    return name or route


def sample_path(route):
    """A concrete path for a route: "<int:pk>" -> 1, "<path:x>" -> "x", regex groups -> "1"."""
    path = re.sub(r"<(?:\w+:)?(\w+)>", "1", route)
    path = re.sub(r"\(\?P<\w+>[^)]*\)", "1", path)
    path = path.replace("^", "").replace("$", "").replace("\\", "")
    path = re.sub(r"\(\?:[^)]*\)\??", "", path)
    return "/" + path.lstrip("/")
