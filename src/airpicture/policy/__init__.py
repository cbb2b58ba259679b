"""Release rules: what each nation gives to whom, and what each nation may see."""

from airpicture.policy.release import receivers_of_sensor, release_of_sensor, viewable_sensors

__all__ = ["receivers_of_sensor", "release_of_sensor", "viewable_sensors"]
