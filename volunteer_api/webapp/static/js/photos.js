// Photos from the camera. Originals are evidence: they go as taken, unless the volunteer chooses to send
// smaller copies (a slow or costly network), which are made here on the phone.
const MAX_SIDE = 2048;
const QUALITY = 0.85;

export async function shrink(file) {
  const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  if (scale === 1 && file.type === "image/jpeg") return file;
  const canvas = new OffscreenCanvas(Math.round(bitmap.width * scale), Math.round(bitmap.height * scale));
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  const blob = await canvas.convertToBlob({ type: "image/jpeg", quality: QUALITY });
  return new File([blob], (file.name || "photo").replace(/\.\w+$/, "") + ".jpg", { type: "image/jpeg" });
}

export async function prepare(files, { resize }) {
  const list = Array.from(files);
  return resize ? Promise.all(list.map(shrink)) : list;
}
