"""Readers for the datasets the tasks train on, in their published forms."""
