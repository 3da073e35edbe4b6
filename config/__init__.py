"""Shipped configuration: the default rule pack, example configs, Elasticsearch templates, Kibana saved objects."""
