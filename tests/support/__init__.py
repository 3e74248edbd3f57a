"""Code the tests and the bench share; not tests themselves."""
