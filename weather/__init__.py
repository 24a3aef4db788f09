"""Weather-bureau warnings: CAP 1.2 feeds, life cycle, farm matching, advice. (Next issue.)"""
