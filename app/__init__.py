"""slotgraph: a schema-first GraphQL API over PostgreSQL for resource accounting."""
