"""Unit tests for the ARA policy pack (policies/ara_policies)."""
