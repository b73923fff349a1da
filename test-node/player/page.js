// The player page's script (test-node/player/player.test.ts adds it, after hls.js, to a blank page
// served through the edge): plays a source in a fresh <video> and records what the player saw in
// `window.playerState`, which the test polls. Browser code, not type-checked with the Node side.
"use strict";

window.playerState = null;

function freshVideo() {
  document.body.replaceChildren();
  const video = document.createElement("video");
  video.muted = true; // Chromium's autoplay policy: muted playback needs no user gesture
  video.playsInline = true;
  video.width = 320;
  video.height = 180;
  document.body.append(video);
  return video;
}

/** hls.js on a master playlist, as the web app plays the apps' HLS path. */
window.playHls = (src) => {
  const video = freshVideo();
  const state = { levels: -1, fragments: [], errors: [], fatal: null };
  window.playerState = state;
  const hls = new Hls();
  hls.on(Hls.Events.MANIFEST_PARSED, (_event, data) => {
    state.levels = data.levels.length;
    video.play().catch((error) => (state.fatal = `play(): ${error}`));
  });
  hls.on(Hls.Events.FRAG_LOADED, (_event, data) => state.fragments.push(data.frag.url));
  hls.on(Hls.Events.ERROR, (_event, data) => {
    state.errors.push(`${data.type}/${data.details}${data.fatal ? " (fatal)" : ""}`);
    if (data.fatal) state.fatal = `${data.type}/${data.details}`;
  });
  hls.loadSource(src);
  hls.attachMedia(video);
};

/**
 * The web playlist (`web.json`), then a <video> on its first export's `.mp4` URL: once the
 * metadata is in, seek to the middle, then play.
 */
window.playWebPlaylist = async (webJsonUrl) => {
  const state = { exportUrl: null, duration: 0, seekedTo: null, error: null };
  window.playerState = state;
  const response = await fetch(webJsonUrl);
  if (!response.ok) {
    state.error = `web.json: ${response.status}`;
    return;
  }
  state.exportUrl = (await response.json()).exports[0].url;
  const video = freshVideo();
  video.preload = "metadata";
  video.addEventListener("error", () => (state.error = `media error ${video.error?.code}: ${video.error?.message}`));
  video.addEventListener(
    "loadedmetadata",
    () => {
      state.duration = video.duration;
      state.seekedTo = video.duration / 2;
      video.currentTime = state.seekedTo;
    },
    { once: true },
  );
  video.addEventListener("seeked", () => video.play().catch((error) => (state.error = `play(): ${error}`)), { once: true });
  video.src = state.exportUrl;
};
