"""The API of group ``microapp.dev/v1alpha1``: pydantic types (the single source of truth
for the CRDs), condition types, reasons and phases, the kinds the operator handles, and
CRD generation. Imports nothing else of the package."""
