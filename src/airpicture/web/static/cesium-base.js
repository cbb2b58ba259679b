// Cesium finds its workers, textures and widgets under this URL: our own server, never a CDN.
// Imported before Cesium itself, so that the value is set when Cesium's module runs.
window.CESIUM_BASE_URL = "/vendor/cesium/";
