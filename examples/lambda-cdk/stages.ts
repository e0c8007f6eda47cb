/**
 * The stages of the photo pipeline, without a client: pipeline.ts registers them (processes and
 * the Lambda handler), app.ts reads their names and options to ask `sqspipes` for the queues,
 * event source mappings and IAM policy of the stage it deploys on Lambda.
 *
 *   fetch   (source)   lists photos to make thumbnails of (made up here)
 *   resize  (Lambda)   a photo → its thumbnail (a real one would read the image from S3 and write
 *                      the thumbnail back); 2 priority levels, at most 5 calls at once
 *   index              a thumbnail → `[url, thumbnail]`, printed as a JSON line
 */
import type { StageOptions } from 'sqspipes';

/** Names the queues (`photos-resize-p0.fifo`…); the function gets the same value. */
export const DOMAIN = process.env['SQSPIPES_DOMAIN'] ?? 'photos';

/** The stage app.ts deploys on Lambda; the others run as processes. */
export const LAMBDA_STAGE = 'resize';

export interface Photo {
  url: string;
  width: number;
  height: number;
}

export interface Thumbnail {
  url: string;
  thumbnail: string;
  width: number;
  height: number;
}

let fetched = 0;

/** The next photo (a real source would list a bucket or read a feed). */
export function fetchPhoto(): Photo {
  fetched += 1;
  const width = 800 + 100 * Math.floor(Math.random() * 32);
  return { url: `https://photos.example.com/${process.pid}-${fetched}.jpg`, width, height: (width * 3) / 4 };
}

/** A thumbnail 200 pixels wide. */
export function resize(photo: Photo): Thumbnail {
  const thumbnail = photo.url.replace(/\.jpg$/, '-w200.jpg');
  return { url: photo.url, thumbnail, width: 200, height: Math.round((photo.height * 200) / photo.width) };
}

/** What a search index would store: the photo and its thumbnail. */
export function index(thumbnail: Thumbnail): [string, string] {
  return [thumbnail.url, thumbnail.thumbnail];
}

/** The stages, in order. */
export const stages: StageOptions[] = [
  { method: fetchPhoto, name: 'fetch', workers: 2, interval: 100 },
  { method: resize, priorities: 2, maxConcurrency: 5, retries: 2 },
  { method: index, workers: 4 },
];
