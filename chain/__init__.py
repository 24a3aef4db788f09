"""Blockchain anchoring of journey-event hashes on a permissioned EVM. (Next issue.)"""
