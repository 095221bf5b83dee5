"""Static pages: the coverage report and the rulebook-beside-its-policy site (``medrules docs``)."""
