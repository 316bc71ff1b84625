"""The HTTP service for filter builders: its handlers, its app, its models and its
playground."""
