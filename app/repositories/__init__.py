"""SQL only: one module per table family. No GraphQL here."""
