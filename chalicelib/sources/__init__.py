"""The shared connector framework: the Source interface and its errors (base), the HTTP client (http)
and the polling limits (limits). Each network's connector is chalicelib/networks/<name>/source.py,
registered in chalicelib.networks."""
