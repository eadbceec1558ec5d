/** The service name of Shoal's built-in distributed map (registered on every member). */
export const MAP_SERVICE_NAME = 'shoal:map';
