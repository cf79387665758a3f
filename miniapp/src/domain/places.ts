/** A building chosen in <jl-building-picker>: where a report is, when the phone's position is not used. */
export interface PickedBuilding {
  id: number
  name: string
  lat: number | null
  lng: number | null
}
