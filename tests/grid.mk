# grid tests
