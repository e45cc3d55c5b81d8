"""One bindable module per GraphQL type; `BINDABLES` in app.schema collects them."""
