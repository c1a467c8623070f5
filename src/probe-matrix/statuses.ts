/** "2xx" spelled out: the `valid` probe passes on any success status by default. */
export const SUCCESS_STATUSES: readonly number[] = [200, 201, 202, 203, 204, 205, 206];
